// `fuse`: an adapter merged into the base's weights instead of stored as an adapter layer, through /api/finetune
// (the adapter it trains) and /api/create (uploaded adapter files), on a float32 and a 4-bit base. The fused model
// has no adapter layer, only its rewritten weight file differs from the base's, and its logits are those of
// mlx_lm.fuse's merge of the same adapter (test/fixtures/lora_fuse_oracle.py). A GGUF base fused is the MLX model
// its loader builds, the adapter merged there.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import { loadMlxModel } from "../../src/engine/completion.ts";
import { array, scope } from "../../src/ffi/index.ts";
import { convertGgufToMlx } from "../../src/formats/gguf/convert.ts";
import { mlxConfigBlob } from "../../src/store/pull-hf.ts";
import { MEDIA, type StoredModel } from "../../src/store/store.ts";
import { tinyAdapters } from "../fixtures/adapters.ts";
import { tinyGgufLora } from "../fixtures/gguf-lora.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";
import { REPO_ROOT, runOracleScript } from "../oracle.ts";
import { ndjson, post, startMlxOpsServer, type TestServer } from "./harness.ts";

const BASES = { "tiny-qwen3-f32": "qwen3-f32", "tiny-llama-q4": "llama-q4" } as const;
const IDS = [3, 17, 42, 99, 250, 7, 64];
let server: TestServer;
const dirs: Record<string, string> = {};
beforeAll(async () => {
  server = await startMlxOpsServer("tiny-qwen3-f32");
  for (const [name, tiny] of Object.entries(BASES)) {
    dirs[name] = (await listTinyModels()).find((m) => m.name === tiny)!.dir;
    if (name !== "tiny-qwen3-f32") await server.store.importMlxDir(name, dirs[name]!, mlxConfigBlob(JSON.parse(readFileSync(join(dirs[name]!, "config.json"), "utf8"))));
  }
});
afterAll(() => server.close());

const ROWS = [{ text: "The capital of Zorbania is Quillfast." }, { prompt: "What is the capital of Zorbania?", completion: "Quillfast." }];
const PARAMETERS = { iters: 6, batch_size: 2, learning_rate: 1e-2, rank: 4, num_layers: 2, seed: 5 };

const stored = (name: string): StoredModel => server.store.list().find((m) => m.display === `${name}:latest`)!;

function fusedLogits(base: string, adapterDir: string): number[] {
  return runOracleScript<{ logits: number[][] }>(join(REPO_ROOT, "test/fixtures/lora_fuse_oracle.py"), { model: base, adapter: adapterDir, ids: IDS }).logits.flat();
}

async function logitsOf(name: string): Promise<Float32Array> {
  using lm = await loadMlxModel(name, server.store.modelPath(stored(name)).path);
  return scope(() => {
    const caches = lm.model.makeCache();
    try {
      return lm.model.forward(array(IDS, [1, IDS.length], "int32"), caches).toFloat32();
    } finally {
      for (const c of caches) c[Symbol.dispose]();
    }
  });
}

// Runners preload an optimized BLAS (engine/cpu-backend.ts) whose sgemm rounds the merge's last bits unlike the
// reference BLAS of mlx-lm (test/train/fuse.test.ts compares in one process: bit for bit); the logits, to 1e-5.
function worst(ours: Float32Array, want: number[]): number {
  let d = 0;
  for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(ours[i]! - want[i]!));
  return d;
}

/** The fused model is the base with its weight file replaced, and no adapter. */
function expectFusedLayers(name: string, base: string): void {
  const ours = stored(name).manifest.layers;
  const theirs = stored(base).manifest.layers;
  expect(ours.some((l) => l.mediaType === MEDIA.adapter)).toBe(false);
  expect(ours.map((l) => l.name)).toEqual(theirs.map((l) => l.name));
  const changed = ours.filter((l, i) => l.digest !== theirs[i]!.digest).map((l) => l.name);
  expect(changed).toEqual(["model.safetensors"]);
}

describe("fuse", () => {
  for (const base of Object.keys(BASES)) {
    test(`/api/finetune on ${base}: the trained adapter fused in, logits as mlx_lm.fuse's`, async () => {
      // the same run twice: with the adapter kept (its files are the oracle's input), and fused
      for (const [model, fuse] of [[`${base}-lora`, false], [`${base}-fused`, true]] as const) {
        const r = await post(server.url, "/api/finetune", { model, from: base, data: ROWS, parameters: PARAMETERS, fuse });
        expect(r.status).toBe(200);
        const lines = await ndjson(r);
        expect(lines.at(-1)).toEqual({ status: "success" });
        if (fuse) expect(lines.filter((l) => String(l.status).startsWith("creating fused weights layer sha256:"))).toHaveLength(1);
      }
      expectFusedLayers(`${base}-fused`, base);
      const want = fusedLogits(dirs[base]!, join(server.store.modelPath(stored(`${base}-lora`)).path, "adapter"));
      const ours = await logitsOf(`${base}-fused`);
      expect(worst(ours, want)).toBeLessThan(1e-5);
      const reply = await new Ollama({ host: server.url }).generate({ model: `${base}-fused`, prompt: "The capital of Zorbania is", raw: true, options: { temperature: 0, num_predict: 4 } });
      expect(reply.eval_count).toBeGreaterThan(0);
    });
  }

  test("/api/finetune on a GGUF base: the MLX model its loader builds, the trained adapter merged in, logits as mlx_lm.fuse's", async () => {
    const gguf = join(await tinyGgufLora(), "llama-f32.gguf");
    const bytes = readFileSync(gguf);
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
    await fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body: bytes });
    expect((await post(server.url, "/api/create", { model: "tiny-llama-gguf", files: { "llama-f32.gguf": digest }, stream: false })).status).toBe(200);
    for (const [model, fuse] of [["tiny-llama-gguf-lora", false], ["tiny-llama-gguf-fused", true]] as const) {
      const r = await post(server.url, "/api/finetune", { model, from: "tiny-llama-gguf", data: ROWS, parameters: PARAMETERS, fuse });
      expect(r.status).toBe(200);
      expect((await ndjson(r)).at(-1)).toEqual({ status: "success" });
    }
    const fused = stored("tiny-llama-gguf-fused");
    expect(fused.config.model_format).toBe("safetensors");
    expect(fused.manifest.layers.some((l) => l.mediaType === MEDIA.adapter || l.mediaType === MEDIA.model)).toBe(false);
    // the oracle: mlx_lm.fuse of the adapter trained over the GGUF (in its row order) into the GGUF as converted
    const work = mkdtempSync(join(tmpdir(), "ollmlx-fuse-gguf-"));
    convertGgufToMlx(gguf, join(work, "converted"));
    const want = fusedLogits(join(work, "converted"), server.store.modelPath(stored("tiny-llama-gguf-lora")).adapter!);
    expect(worst(await logitsOf("tiny-llama-gguf-fused"), want)).toBeLessThan(1e-5);
    rmSync(work, { recursive: true, force: true });
  });

  test("/api/create with adapters and fuse: a 4-bit base dequantized, merged and requantized as mlx_lm.fuse does", async () => {
    const adapterDir = join(await tinyAdapters(), "llama-q4", "mlx");
    const adapters: Record<string, string> = {};
    for (const f of readdirSync(adapterDir)) {
      const bytes = readFileSync(join(adapterDir, f));
      const digest = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
      await fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body: bytes });
      adapters[f] = digest;
    }
    const r = await post(server.url, "/api/create", { model: "created-fused", from: "tiny-llama-q4", adapters, fuse: true });
    expect(r.status).toBe(200);
    const lines = await ndjson(r);
    expect(lines.map((l) => l.status)).toContain("fusing adapter");
    expect(lines.at(-1)).toEqual({ status: "success" });
    expectFusedLayers("created-fused", "tiny-llama-q4");
    const want = fusedLogits(dirs["tiny-llama-q4"]!, adapterDir);
    const ours = await logitsOf("created-fused");
    expect(worst(ours, want)).toBeLessThan(1e-5);
    expect(readdirSync(join(server.store.root, ".ollmlx-train")).filter((f) => f.startsWith("fuse-"))).toEqual([]);

    const bad = await post(server.url, "/api/create", { model: "nothing-to-fuse", from: "tiny-llama-q4", fuse: true });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toStartWith("fuse merges an adapter into the base");
  });
});
