// LoRA adapters through /api/create (`adapters`, as `ollmlx create` sends a Modelfile's ADAPTER): the adapter's
// files uploaded as blobs, checked against the base, stored as adapter layers; the new model then generates
// mlx-lm's greedy tokens for that adapter (a real runner, MLX's own ops as mlx-lm runs them), and the base does not.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { concatenate, loadSafetensors, saveSafetensors, type MxArray } from "../../src/ffi/index.ts";
import { join } from "node:path";
import { Ollama } from "ollama";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { MEDIA } from "../../src/store/store.ts";
import { parseModelName } from "../../src/store/names.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";
import { adapterReference, tinyAdapters } from "../fixtures/adapters.ts";
import { ggufLoraReference, tinyGgufLora } from "../fixtures/gguf-lora.ts";
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

/** Uploads a folder's files (or the named ones) as blobs: file name → digest, as `ollmlx create` sends them. */
async function upload(dir: string, names: string[] = readdirSync(dir)): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of names) {
    const bytes = readFileSync(join(dir, f));
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
    expect([200, 201]).toContain((await fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body: bytes })).status); // 200: already there
    out[f] = digest;
  }
  return out;
}

async function create(body: Record<string, unknown>): Promise<{ status: number; lines: Record<string, unknown>[] }> {
  const r = await post(server.url, "/api/create", body);
  return { status: r.status, lines: r.status === 200 ? await ndjson(r) : [(await r.json()) as Record<string, unknown>] };
}

describe("LoRA adapters through /api/create", () => {
  for (const layout of ["mlx", "peft"]) {
    test(`an ${layout === "mlx" ? "mlx-lm" : "PEFT"} adapter: stored as adapter layers; the model answers with mlx-lm's greedy tokens for it`, async () => {
      const name = `tiny-lora-${layout}`;
      const adapters = await upload(join(await tinyAdapters(), "qwen3-f32", layout));
      const { status, lines } = await create({ model: name, from: BASE, adapters });
      expect(status).toBe(200);
      expect(lines.filter((l) => String(l.status).startsWith("using adapter layer sha256:"))).toHaveLength(2);
      expect(lines.at(-1)).toEqual({ status: "success" });
      const stored = server.store.list().find((m) => m.display.startsWith(name))!;
      expect(stored.manifest.layers.filter((l) => l.mediaType === MEDIA.adapter).map((l) => l.name).sort()).toEqual(
        [`adapter/adapter_config.json`, layout === "mlx" ? "adapter/adapters.safetensors" : "adapter/adapter_model.safetensors"].sort(),
      );

      const show = await new Ollama({ host: server.url }).show({ model: name });
      expect(show.modelfile).toMatch(new RegExp(`\nADAPTER .*/adapter\n`));

      const ref = await adapterReference("qwen3-f32");
      const tokenizer = await Tokenizer.fromFiles(baseDir);
      const ollama = new Ollama({ host: server.url });
      const options = { temperature: 0, num_predict: ref.greedy.length };
      const adapted = await ollama.generate({ model: name, prompt: ref.prompt, raw: true, options });
      expect(adapted.prompt_eval_count).toBe(ref.ids.length);
      expect(adapted.response).toBe(tokenizer.decode(ref.greedy));
      const base = await ollama.generate({ model: BASE, prompt: ref.prompt, raw: true, options });
      expect(base.response).not.toBe(adapted.response);
    });
  }

  test("bad adapters are 400s naming the problem, and nothing is created", async () => {
    const good = await upload(join(await tinyAdapters(), "qwen3-f32", "mlx"));
    const { "adapter_config.json": config, ...weightsOnly } = good;
    expect(config).toBeDefined();
    const cases: [Record<string, unknown>, string][] = [
      [{ from: BASE, adapters: weightsOnly }, "invalid adapter: an adapter needs its adapter_config.json"],
      [{ from: "tiny-lora-mlx", adapters: good }, "only one adapter is supported: the base model already has one"],
      [{ from: BASE, adapters: { ...good, "adapters.safetensors": `sha256:${"0".repeat(64)}` } }, `missing blob sha256:${"0".repeat(64)} for adapters.safetensors`],
    ];
    // shapes of another model, and a module this one lacks
    const src = join(await tinyAdapters(), "qwen3-f32", "mlx");
    const stored = loadSafetensors(join(src, "adapters.safetensors")).tensors;
    for (const [variant, message] of [
      ["wide", "invalid adapter: its model.layers.0.self_attn.q_proj is [128 → 64] but the model's layer is [64 → 64]"],
      ["deep", "invalid adapter: it adapts model.layers.7.mlp.down_proj, which the model does not have"],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), "ollmlx-bad-adapter-"));
      copyFileSync(join(src, "adapter_config.json"), join(dir, "adapter_config.json"));
      const tensors = new Map<string, MxArray>();
      for (const [k, v] of stored) {
        if (variant === "wide") tensors.set(k, k.endsWith("layers.0.self_attn.q_proj.lora_a") ? concatenate([v, v], 0) : v);
        else tensors.set(k.replace("layers.1.", "layers.7."), v);
      }
      saveSafetensors(join(dir, "adapters.safetensors"), tensors);
      cases.push([{ from: BASE, adapters: await upload(dir) }, message]);
    }
    for (const t of stored.values()) t.free();
    for (const [body, message] of cases) {
      const { status, lines } = await create({ model: "never-created", ...body });
      expect({ status, error: String(lines[0]!.error ?? "").slice(0, message.length) }).toEqual({ status: 400, error: message });
    }
    expect(server.store.list().some((m) => m.display.startsWith("never-created"))).toBe(false);
  });
});

describe("llama.cpp GGUF LoRA adapters through /api/create", () => {
  const GGUF_BASE = "tiny-llama-gguf";
  beforeAll(async () => {
    const { status } = await create({ model: GGUF_BASE, files: await upload(await tinyGgufLora(), ["llama-f32.gguf"]) });
    expect(status).toBe(200);
  });

  test("ADAPTER x.gguf on a GGUF model: stored as one adapter layer; the model answers with mlx-lm's greedy tokens for the same adapter", async () => {
    const dir = await tinyGgufLora();
    const { status, lines } = await create({ model: "tiny-gguf-lora", from: GGUF_BASE, adapters: await upload(dir, ["adapter-f32.gguf"]) });
    expect(status).toBe(200);
    expect(lines.at(-1)).toEqual({ status: "success" });
    const stored = server.store.list().find((m) => m.display.startsWith("tiny-gguf-lora"))!;
    expect(stored.manifest.layers.filter((l) => l.mediaType === MEDIA.adapter).map((l) => l.name)).toEqual(["adapter/adapter.gguf"]);
    const show = await new Ollama({ host: server.url }).show({ model: "tiny-gguf-lora" });
    expect(show.modelfile).toMatch(new RegExp(`\nADAPTER .*/adapter\n`));

    // mlx-lm's tokens for the adapter in its layout on the same llama as safetensors
    const ref = await ggufLoraReference();
    const ollama = new Ollama({ host: server.url });
    const options = { temperature: 0, num_predict: ref.greedy.length };
    const tokenizer = await Tokenizer.fromFiles((await listTinyModels()).find((m) => m.name === "llama-f32")!.dir);
    const adapted = await ollama.generate({ model: "tiny-gguf-lora", prompt: ref.prompt, raw: true, options });
    expect(adapted.prompt_eval_count).toBe(ref.ids.length);
    expect(adapted.response).toBe(tokenizer.decode(ref.greedy));
    const base = await ollama.generate({ model: GGUF_BASE, prompt: ref.prompt, raw: true, options });
    expect(base.response).not.toBe(adapted.response);

    // Ollama's own adapter layer has no name: the same file, found as the GGUF LoRA it always is
    const layers = stored.manifest.layers.map((l) => (l.mediaType === MEDIA.adapter ? { mediaType: l.mediaType, digest: l.digest, size: l.size } : l));
    server.store.writeManifest(parseModelName("tiny-gguf-lora-unnamed"), stored.config, layers);
    const unnamed = await ollama.generate({ model: "tiny-gguf-lora-unnamed", prompt: ref.prompt, raw: true, options });
    expect(unnamed.response).toBe(adapted.response);
  });

  test('"fuse": true on a GGUF model stores the MLX model its loader builds with the adapter merged in; it answers with mlx-lm\'s greedy tokens', async () => {
    const dir = await tinyGgufLora();
    const { status, lines } = await create({ model: "tiny-gguf-fused", from: GGUF_BASE, adapters: await upload(dir, ["adapter-f32.gguf"]), fuse: true });
    expect(status).toBe(200);
    expect(lines.map((l) => l.status)).toContain("fusing adapter");
    expect(lines.at(-1)).toEqual({ status: "success" });
    const stored = server.store.list().find((m) => m.display.startsWith("tiny-gguf-fused"))!;
    expect(stored.config.model_format).toBe("safetensors");
    expect(stored.manifest.layers.some((l) => l.mediaType === MEDIA.adapter || l.mediaType === MEDIA.model)).toBe(false);
    expect(stored.manifest.layers.map((l) => l.name).filter(Boolean).sort()).toEqual(
      ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"].sort(),
    );
    const ref = await ggufLoraReference();
    const tokenizer = await Tokenizer.fromFiles((await listTinyModels()).find((m) => m.name === "llama-f32")!.dir);
    const fused = await new Ollama({ host: server.url }).generate({ model: "tiny-gguf-fused", prompt: ref.prompt, raw: true, options: { temperature: 0, num_predict: ref.greedy.length } });
    expect(fused.prompt_eval_count).toBe(ref.ids.length);
    expect(fused.response).toBe(tokenizer.decode(ref.greedy));
  });

  test("GGUF adapters that do not fit, or on the wrong kind of base, are 400s naming the problem, and nothing is created", async () => {
    const dir = await tinyGgufLora();
    const up = (f: string) => upload(dir, [f]);
    const cases: [Record<string, unknown>, string][] = [
      [{ from: GGUF_BASE, adapters: await up("bad-shape.gguf") }, "invalid adapter: its blk.0.attn_q.weight is [128 → 64] but the model's is [64 → 64]"],
      [{ from: GGUF_BASE, adapters: await up("bad-module.gguf") }, "invalid adapter: it adapts blk.7.attn_q.weight, which the model does not have"],
      [{ from: GGUF_BASE, adapters: await up("bad-arch.gguf") }, "invalid adapter: it is for qwen3 models, and the model is llama"],
      [{ from: GGUF_BASE, adapters: await up("llama-f32.gguf") }, 'invalid adapter: the GGUF is not an adapter: its general.type is null, not "adapter"'],
      [{ from: GGUF_BASE, adapters: { ...(await up("adapter-f32.gguf")), ...(await up("adapter-f16.gguf")) } }, "only one adapter is supported: give one GGUF LoRA file"],
      [{ from: BASE, adapters: await up("adapter-f32.gguf") }, "invalid adapter: a GGUF LoRA applies to a GGUF model, and this base is safetensors"],
      [{ from: GGUF_BASE, adapters: await upload(join(dir, "mlx")) }, "invalid adapter: a GGUF model takes a llama.cpp GGUF LoRA (an mlx-lm or PEFT adapter applies to safetensors models)"],
    ];
    for (const [body, message] of cases) {
      const { status, lines } = await create({ model: "never-created-gguf", ...body });
      expect({ status, error: String(lines[0]!.error ?? "").slice(0, message.length) }).toEqual({ status: 400, error: message });
    }
    expect(server.store.list().some((m) => m.display.startsWith("never-created-gguf"))).toBe(false);
  });
});
