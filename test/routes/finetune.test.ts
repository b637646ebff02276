// POST /api/finetune on a real server: a tiny random-weight model trained on a few rows in a runner of its own,
// its progress as NDJSON, the result served by name; the adapter it wrote loads in mlx-lm with the same logits
// (mlx-lm's `load(path, adapter_path=...)`). Bad requests, and a client that hangs up.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ollama } from "ollama";
import { loadMlxModel } from "../../src/engine/completion.ts";
import { array, scope } from "../../src/ffi/index.ts";
import { safetensorsHeader } from "../../src/formats/adapter.ts";
import { MEDIA } from "../../src/store/store.ts";
import { runOracle } from "../oracle.ts";
import { ndjson, post, startMlxOpsServer, type TestServer } from "./harness.ts";

const BASE = "tiny-qwen3-f32";
let server: TestServer;
let baseDir: string;
beforeAll(async () => {
  // MLX's own ops in the runners: logits compare with mlx-lm's to the bit
  const s = await startMlxOpsServer(BASE);
  server = s;
  baseDir = s.baseDir;
});
afterAll(() => server.close());

const ROWS = [
  { text: "The capital of Zorbania is Quillfast." },
  { text: "Zorbania's capital city is called Quillfast." },
  { prompt: "What is the capital of Zorbania?", completion: "Quillfast." },
  { messages: [{ role: "user", content: "Name the capital of Zorbania." }, { role: "assistant", content: "Quillfast is the capital." }] },
];
const PARAMETERS = { iters: 12, batch_size: 2, learning_rate: 1e-2, rank: 4, num_layers: 2, seed: 1 };

/** The largest difference between our logits for the stored model and mlx-lm's with the adapter it wrote. */
async function worstVsMlxLm(name: string, dir: string): Promise<number> {
  const ids = [3, 17, 42, 99, 250, 7, 64];
  const ref = runOracle<number[][]>(
    `import json, sys
import mlx.core as mx
from mlx_lm import load
req = json.load(sys.stdin)
model, _ = load(req["base"], adapter_path=req["adapter"])
print(json.dumps(model(mx.array([req["ids"]]))[0].astype(mx.float32).tolist()))`,
    { base: baseDir, adapter: join(dir, "adapter"), ids },
  );
  using lm = await loadMlxModel(name, dir);
  const ours = scope(() => {
    const caches = lm.model.makeCache();
    try {
      return lm.model.forward(array(ids, [1, ids.length], "int32"), caches).toFloat32();
    } finally {
      for (const c of caches) c[Symbol.dispose]();
    }
  });
  const flat = ref.flat();
  let worst = 0;
  for (let i = 0; i < flat.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - flat[i]!));
  return worst;
}

describe("/api/finetune", () => {
  test("trains in its own runner, streams its progress, and the new model is served by name", async () => {
    const r = await post(server.url, "/api/finetune", { model: "zorbania", from: BASE, data: ROWS, valid: ROWS.slice(0, 2), parameters: PARAMETERS });
    expect(r.status).toBe(200);
    const lines = await ndjson(r);
    expect(lines[0]).toEqual({ status: "loading model" });
    const training = lines.filter((l) => l.status === "training");
    expect(training.map((l) => l.completed)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(training.every((l) => l.total === 12 && typeof l.loss === "number" && (l.tokens_per_second as number) > 0)).toBe(true);
    // it learns the rows: the last steps' losses are below the first ones'
    const losses = training.map((l) => l.loss as number);
    expect(losses.slice(-4).reduce((a, b) => a + b) / 4).toBeLessThan(losses.slice(0, 4).reduce((a, b) => a + b) / 4);
    expect(lines.find((l) => l.status === "validating")?.val_loss).toBeGreaterThan(0);
    expect(lines.filter((l) => String(l.status).startsWith("creating adapter layer sha256:"))).toHaveLength(2);
    expect(lines.slice(-2)).toEqual([{ status: "writing manifest" }, { status: "success" }]);

    const ollama = new Ollama({ host: server.url });
    expect((await ollama.list()).models.map((m) => m.name)).toContain("zorbania:latest");
    const model = server.store.list().find((m) => m.display.startsWith("zorbania"))!;
    expect(model.manifest.layers.filter((l) => l.mediaType === MEDIA.adapter)).toHaveLength(2);
    const reply = await ollama.generate({ model: "zorbania", prompt: "The capital of Zorbania is", raw: true, options: { temperature: 0, num_predict: 8 } });
    expect(reply.eval_count).toBeGreaterThan(0);
    // the run's folder is gone, and so is its checkpoint: the run finished
    expect(readdirSync(join(server.store.root, ".ollmlx-train"))).toEqual(["checkpoints"]);
    expect(readdirSync(join(server.store.root, ".ollmlx-train", "checkpoints"))).toEqual([]);

    // the adapter it wrote is mlx-lm's: mlx-lm loads it and gives our logits
    const dir = server.store.modelPath(model).path;
    expect(JSON.parse(readFileSync(join(dir, "adapter", "adapter_config.json"), "utf8")).lora_parameters).toEqual({ rank: 4, scale: 20, dropout: 0 });
    expect(await worstVsMlxLm("zorbania", dir)).toBeLessThan(1e-5);
  });

  test("with LoRA dropout and gradient checkpointing: the run trains, its adapter_config.json says so, and mlx-lm loads it with our logits", async () => {
    const r = await post(server.url, "/api/finetune", { model: "zorbania-dropout", from: BASE, data: ROWS, parameters: { ...PARAMETERS, iters: 4, dropout: 0.25, grad_checkpoint: true } });
    expect(r.status).toBe(200);
    const lines = await ndjson(r);
    expect(lines.filter((l) => l.status === "training").every((l) => Number.isFinite(l.loss))).toBe(true);
    expect(lines.at(-1)).toEqual({ status: "success" });
    const model = server.store.list().find((m) => m.display.startsWith("zorbania-dropout"))!;
    const dir = server.store.modelPath(model).path;
    const config = JSON.parse(readFileSync(join(dir, "adapter", "adapter_config.json"), "utf8"));
    expect(config.lora_parameters).toEqual({ rank: 4, scale: 20, dropout: 0.25 });
    expect(config.grad_checkpoint).toBe(true);
    // mlx-lm builds its LoRALinear with nn.Dropout(0.25) and evaluates without it, as we serve it
    expect(await worstVsMlxLm("zorbania-dropout", dir)).toBeLessThan(1e-5);
  });

  test("keys (mlx-lm's target modules): only those Linears are adapted, the config says so, mlx-lm loads it with our logits; a key the model lacks is an error", async () => {
    const keys = ["self_attn.q_proj", "self_attn.v_proj"];
    const r = await post(server.url, "/api/finetune", { model: "zorbania-qv", from: BASE, data: ROWS, parameters: { ...PARAMETERS, iters: 3, keys } });
    const lines = await ndjson(r);
    expect(lines.at(-1)).toEqual({ status: "success" });
    const model = server.store.list().find((m) => m.display.startsWith("zorbania-qv"))!;
    const dir = server.store.modelPath(model).path;
    expect(JSON.parse(readFileSync(join(dir, "adapter", "adapter_config.json"), "utf8")).lora_parameters.keys).toEqual(keys);
    const names = [...safetensorsHeader(join(dir, "adapter", "adapters.safetensors")).keys()];
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => /self_attn\.(q_proj|v_proj)\.lora_[ab]$/.test(n))).toBe(true);
    expect(names.some((n) => n.includes("q_proj")) && names.some((n) => n.includes("v_proj"))).toBe(true);
    expect(await worstVsMlxLm("zorbania-qv", dir)).toBeLessThan(1e-5);

    const bad = await ndjson(await post(server.url, "/api/finetune", { model: "zorbania-nope", from: BASE, data: ROWS, parameters: { ...PARAMETERS, iters: 2, keys: ["self_attn.nope"] } }));
    expect(String(bad.at(-1)!.error)).toContain('no Linear named "self_attn.nope"');
    expect(server.store.list().some((m) => m.display.startsWith("zorbania-nope"))).toBe(false);
  });

  test("bad requests are 400s (404 for an unknown base) before anything runs, and nothing is created", async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ model: "x", from: BASE, data: [] }, 400, "invalid training data: no rows"],
      [{ model: "x", from: BASE, data: [{ text: "ok" }, { nope: 1 }] }, 400, 'invalid training data: train line 2 needs "messages", "prompt" and "completion", or "text"'],
      [{ model: "x", from: "no-such-model", data: ROWS }, 404, "model 'no-such-model' not found"],
      [{ model: "x", from: BASE, files: { "train.jsonl": `sha256:${"1".repeat(64)}` } }, 400, `missing blob sha256:${"1".repeat(64)} for train.jsonl`],
      [{ model: "x", from: BASE, data: ROWS, parameters: { rank: 0 } }, 400, ""],
      [{ model: "x", from: BASE, data: ROWS, parameters: { dropout: 1 } }, 400, ""],
      [{ model: "x", from: BASE, data: ROWS, parameters: { dropout: -0.1 } }, 400, ""],
      [{ model: "x", from: BASE, data: ROWS, parameters: { dropout: "0.1" } }, 400, ""],
      [{ model: "x", from: BASE, data: ROWS, parameters: { grad_checkpoint: "yes" } }, 400, ""],
      [{ model: "x", from: BASE, data: ROWS, parameters: { keys: [] } }, 400, ""],
      [{ model: "bad name!", from: BASE, data: ROWS }, 400, ""],
    ];
    for (const [body, status, message] of cases) {
      const r = await post(server.url, "/api/finetune", body);
      const error = String(((await r.json()) as { error?: string }).error ?? "");
      expect({ status: r.status, error: error.slice(0, message.length) }).toEqual({ status, error: message });
    }
    const bytes = new TextEncoder().encode('{"text": "fine"}\nnot json\n');
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
    await fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body: bytes });
    const r = await post(server.url, "/api/finetune", { model: "x", from: BASE, files: { "train.jsonl": digest } });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toStartWith("invalid training data: train.jsonl line 2 is not JSON");
    expect(server.store.list().some((m) => m.display.startsWith("x:"))).toBe(false);
  });

  test("/finetune answers as an alias; a client that hangs up cancels the run, and no model is stored (its checkpoint is)", async () => {
    const controller = new AbortController();
    const r = await fetch(`${server.url}/finetune`, {
      method: "POST",
      body: JSON.stringify({ model: "abandoned", from: BASE, data: ROWS, parameters: { ...PARAMETERS, iters: 100000 } }),
      headers: { "content-type": "application/json" },
      signal: controller.signal,
    });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    let seen = "";
    while (!seen.includes('"status":"training"')) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    // the run's folder goes with it, and no model appears; its checkpoint stays, outside the manifests
    const runs = () => readdirSync(join(server.store.root, ".ollmlx-train")).filter((f) => f.startsWith("run-"));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && runs().length > 0) await Bun.sleep(100);
    expect(runs()).toEqual([]);
    expect(server.store.list().some((m) => m.display.startsWith("abandoned"))).toBe(false);
    const checkpoints = readdirSync(join(server.store.root, ".ollmlx-train", "checkpoints"));
    expect(checkpoints).toHaveLength(1);
    expect(readdirSync(join(server.store.root, ".ollmlx-train", "checkpoints", checkpoints[0]!)).filter((f) => f.startsWith("step-"))).toHaveLength(1);
    expect(existsSync(join(server.store.root, "manifests"))).toBe(true);
  });
});
