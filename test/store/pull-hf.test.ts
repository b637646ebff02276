// Pulls from a local fake Hugging Face Hub: an mlx-community repo installed file for file, refusals decided before any
// weight byte is asked for, resume after a dropped connection, corrupt data, GGUF quantization by tag, HF_TOKEN.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pullModel } from "../../src/store/pull.ts";
import { MEDIA } from "../../src/store/store.ts";
import { bytesOf, drain, FakeHub, sha256, text, tempStore, tinyGguf, type RepoFile } from "./fake-servers.ts";

let hub: FakeHub;
let store: ReturnType<typeof tempStore>;
let env: Record<string, string>;

const WEIGHTS = bytesOf(300_000, 7);
const SHARD2 = bytesOf(50_000, 8);

function mlxRepo(modelType = "llama", extra: RepoFile[] = []): RepoFile[] {
  const config = { model_type: modelType, hidden_size: 8, max_position_embeddings: 128, quantization: { group_size: 64, bits: 4 } };
  return [
    { name: ".gitattributes", bytes: text("*.safetensors filter=lfs\n") },
    { name: "README.md", bytes: text("# Tiny\n") },
    { name: "config.json", bytes: text(JSON.stringify(config)) },
    { name: "tokenizer.json", bytes: text(JSON.stringify({ model: { type: "BPE", vocab: { a: 0 } } })) },
    { name: "tokenizer_config.json", bytes: text("{}") },
    { name: "chat_template.jinja", bytes: text("{{ messages }}") },
    { name: "model-00001-of-00002.safetensors", bytes: WEIGHTS, lfs: true },
    { name: "model-00002-of-00002.safetensors", bytes: SHARD2, lfs: true },
    { name: "model.safetensors.index.json", bytes: text('{"weight_map":{}}') },
    ...extra,
  ];
}

beforeEach(() => {
  hub = new FakeHub();
  store = tempStore();
  env = { HF_ENDPOINT: hub.endpoint };
});

afterEach(() => {
  hub.stop();
  store.cleanup();
});

describe("pull from Hugging Face", () => {
  test("an mlx-community repo is installed: listed under its name, every file byte-identical, config blob from config.json", async () => {
    const files = mlxRepo();
    hub.addRepo("mlx-community/Tiny-4bit", files);
    const { events, error } = await drain(pullModel(store, "mlx-community/Tiny-4bit", { env }));
    expect(error).toBeUndefined();

    const models = store.list();
    expect(models.map((m) => m.display)).toEqual(["mlx-community/Tiny-4bit:latest"]);
    const m = models[0]!;
    expect(m.config).toMatchObject({ model_format: "safetensors", model_family: "llama", architecture: "llama", file_type: "int4", context_length: 128 });
    const dir = store.modelPath(m).path;
    const installed = files.filter((f) => f.name !== "README.md" && f.name !== ".gitattributes");
    expect(readdirSync(dir).filter((f) => !f.startsWith(".")).sort()).toEqual(installed.map((f) => f.name).sort());
    for (const f of installed) expect(new Uint8Array(readFileSync(join(dir, f.name)))).toEqual(f.bytes);
    for (const l of m.manifest.layers) expect(l.digest).toBe(`sha256:${sha256(readFileSync(store.blobPath(l.digest)))}`);
    expect(m.manifest.layers.find((l) => l.name === "model-00001-of-00002.safetensors")!.mediaType).toBe(MEDIA.safetensors);
    // LFS files came from the CDN the resolve URL redirected to, pinned to the listed commit
    expect(hub.cdn.log.map((r) => r.path).sort()).toEqual([`/lfs/${sha256(SHARD2)}`, `/lfs/${sha256(WEIGHTS)}`].sort());
    expect(hub.log.some((r) => r.path === `/mlx-community/Tiny-4bit/resolve/${hub.commit}/config.json`)).toBe(true);
    expect(hub.requestedPaths().some((p) => p.endsWith("README.md"))).toBe(false);
    expect(events.at(0)).toEqual({ status: "pulling manifest" });
    expect(readdirSync(join(store.root, "blobs")).some((f) => f.endsWith("-partial"))).toBe(false);
  });

  test("a sentence-transformers repo keeps its modules' configs and weights (1_Pooling/config.json, 2_Dense/model.safetensors) and skips other formats' folders", async () => {
    const pooling = text(JSON.stringify({ word_embedding_dimension: 8, pooling_mode_cls_token: true }));
    const dense = bytesOf(600, 5);
    const files = mlxRepo("bert", [
      { name: "modules.json", bytes: text('[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"}]') },
      { name: "1_Pooling/config.json", bytes: pooling },
      { name: "2_Dense/model.safetensors", bytes: dense, lfs: true },
      { name: "2_Dense/pytorch_model.bin", bytes: bytesOf(600, 6), lfs: true },
      { name: "onnx/model.onnx", bytes: bytesOf(1000, 3), lfs: true },
    ]);
    hub.addRepo("sentence-transformers/tiny-bert", files);
    const { error } = await drain(pullModel(store, "hf.co/sentence-transformers/tiny-bert", { env }));
    expect(error).toBeUndefined();
    const m = store.list()[0]!;
    const dir = store.modelPath(m).path;
    expect(new Uint8Array(readFileSync(join(dir, "1_Pooling", "config.json")))).toEqual(pooling);
    expect(new Uint8Array(readFileSync(join(dir, "2_Dense", "model.safetensors")))).toEqual(dense);
    expect(existsSync(join(dir, "2_Dense", "pytorch_model.bin"))).toBe(false);
    expect(existsSync(join(dir, "onnx"))).toBe(false);
    expect(hub.requestedPaths().some((p) => p.includes("onnx"))).toBe(false);
  });

  test("progress is Ollama's stream: pulling manifest, per-layer pulling <digest[7:19]> with total/completed, then verify, write, success", async () => {
    hub.addRepo("mlx-community/Tiny-4bit", mlxRepo());
    const { events } = await drain(pullModel(store, "mlx-community/Tiny-4bit", { env }));
    expect(events[0]).toEqual({ status: "pulling manifest" });
    expect(events.slice(-3)).toEqual([{ status: "verifying sha256 digest" }, { status: "writing manifest" }, { status: "success" }]);
    const layerEvents = events.slice(1, -3);
    expect(layerEvents.length).toBeGreaterThan(0);
    for (const e of layerEvents) {
      // Ollama omits a zero completed (omitempty), as in a layer's first report
      expect(Object.keys(e).sort()).toEqual(e.completed === undefined ? ["digest", "status", "total"] : ["completed", "digest", "status", "total"]);
      expect(e.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(e.status).toBe(`pulling ${e.digest!.slice(7, 19)}`);
      expect(e.completed ?? 0).toBeLessThanOrEqual(e.total!);
    }
    const final = new Map(layerEvents.map((e) => [e.digest, e]));
    const layers = store.list()[0]!.manifest.layers;
    expect([...final.keys()].sort()).toEqual(layers.map((l) => l.digest).sort());
    for (const l of layers) expect(final.get(l.digest)).toMatchObject({ total: l.size, completed: l.size });
  });

  test("an unsupported architecture is refused, naming it, before any weight byte is requested", async () => {
    hub.addRepo("mlx-community/Mamba-4bit", mlxRepo("mamba"));
    const { error } = await drain(pullModel(store, "mlx-community/Mamba-4bit", { env }));
    expect(error?.message).toContain('model architecture "mamba" is not supported');
    expect(hub.requestedPaths().filter((p) => p.includes("safetensors") || p.startsWith("/lfs/"))).toEqual([]);
    expect(hub.cdn.log).toEqual([]);
    expect(store.list()).toEqual([]);
  });

  test("a repo with a config but no weights is refused", async () => {
    hub.addRepo("mlx-community/Empty", mlxRepo().filter((f) => !f.name.endsWith(".safetensors")));
    const { error } = await drain(pullModel(store, "hf.co/mlx-community/Empty", { env }));
    expect(error?.message).toContain("has no weights");
    expect(store.list()).toEqual([]);
  });

  test("a missing repo fails at the manifest step", async () => {
    const { events, error } = await drain(pullModel(store, "hf.co/mlx-community/Nope", { env }));
    expect(events).toEqual([{ status: "pulling manifest" }]);
    expect(error?.message).toContain('pull model manifest: Hugging Face repo "mlx-community/Nope"');
  });

  test("a dropped connection leaves the model unlisted with a partial file; the next pull resumes with Range from there", async () => {
    hub.addRepo("mlx-community/Tiny-4bit", mlxRepo());
    hub.cdn.faults.set(sha256(WEIGHTS), { dropAfter: 100_000, times: 1 });
    // no resume within the pull (OLLMLX_PULL_RETRIES=0): the next pull is the one that resumes
    const first = await drain(pullModel(store, "mlx-community/Tiny-4bit", { env: { ...env, OLLMLX_PULL_RETRIES: "0" } }));
    expect(first.error?.message).toContain("model-00001-of-00002.safetensors");
    expect(first.events.some((e) => e.status === "success")).toBe(false);
    expect(store.list()).toEqual([]);
    const partial = `${store.blobPath(`sha256:${sha256(WEIGHTS)}`)}-partial`;
    const have = statSync(partial).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThanOrEqual(100_000);

    const second = await drain(pullModel(store, "mlx-community/Tiny-4bit", { env }));
    expect(second.error).toBeUndefined();
    const resumed = hub.cdn.log.filter((r) => r.path === `/lfs/${sha256(WEIGHTS)}`);
    expect(resumed.map((r) => r.range)).toEqual([null, `bytes=${have}-`]);
    const m = store.get("mlx-community/Tiny-4bit");
    expect(new Uint8Array(readFileSync(join(store.modelPath(m).path, "model-00001-of-00002.safetensors")))).toEqual(WEIGHTS);
    expect(existsSync(partial)).toBe(false);
    // the resumed layer's progress starts from the bytes already there
    const firstReport = second.events.find((e) => e.digest === `sha256:${sha256(WEIGHTS)}`)!;
    expect(firstReport.completed).toBe(have);
  });

  test("an aborted pull stops the download, keeps the partial file and is not listed", async () => {
    hub.addRepo("mlx-community/Tiny-4bit", mlxRepo());
    hub.cdn.faults.set(sha256(WEIGHTS), { slow: { chunk: 10_000, delayMs: 20 } });
    const controller = new AbortController();
    const events: string[] = [];
    let error: unknown;
    try {
      for await (const p of pullModel(store, "mlx-community/Tiny-4bit", { env, signal: controller.signal })) {
        events.push(p.status);
        if (p.digest === `sha256:${sha256(WEIGHTS)}` && p.completed! >= 30_000) controller.abort();
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeDefined();
    expect(store.list()).toEqual([]);
    const partial = `${store.blobPath(`sha256:${sha256(WEIGHTS)}`)}-partial`;
    await Bun.sleep(50);
    const have = statSync(partial).size;
    expect(have).toBeGreaterThanOrEqual(30_000);
    expect(have).toBeLessThan(WEIGHTS.length);
    hub.cdn.faults.clear();
    const again = await drain(pullModel(store, "mlx-community/Tiny-4bit", { env }));
    expect(again.error).toBeUndefined();
    expect(hub.cdn.log.filter((r) => r.path === `/lfs/${sha256(WEIGHTS)}`).at(-1)!.range).toBe(`bytes=${have}-`);
  });

  test("corrupt bytes fail with a digest mismatch: no blob kept, no partial file, not listed", async () => {
    hub.addRepo("mlx-community/Tiny-4bit", mlxRepo());
    hub.cdn.faults.set(sha256(WEIGHTS), { corrupt: bytesOf(WEIGHTS.length, 99) });
    const { error } = await drain(pullModel(store, "mlx-community/Tiny-4bit", { env }));
    expect(error?.message).toStartWith(`digest mismatch, file must be downloaded again: want sha256:${sha256(WEIGHTS)}, got sha256:`);
    const blob = store.blobPath(`sha256:${sha256(WEIGHTS)}`);
    expect(existsSync(blob)).toBe(false);
    expect(existsSync(`${blob}-partial`)).toBe(false);
    expect(store.list()).toEqual([]);
  });

  test("a small file that does not match its listed git blob id is refused", async () => {
    hub.addRepo("mlx-community/Tiny-4bit", mlxRepo());
    hub.tampered.set("tokenizer_config.json", text("[]")); // same length, other content
    const { error } = await drain(pullModel(store, "mlx-community/Tiny-4bit", { env }));
    expect(error?.message).toContain("tokenizer_config.json: content does not match the Hub's blob id");
    expect(store.list()).toEqual([]);
  });

  test("a GGUF repo: the tag picks the quantization, latest means Q4_K_M, an unknown one lists what there is", async () => {
    const q4 = tinyGguf(15);
    const q8 = tinyGguf(7);
    hub.addRepo("someone/Tiny-GGUF", [
      { name: "README.md", bytes: text("# gguf") },
      { name: "Tiny-Q8_0.gguf", bytes: q8, lfs: true },
      { name: "Tiny-Q4_K_M.gguf", bytes: q4, lfs: true },
      { name: "mmproj-Tiny-F16.gguf", bytes: bytesOf(100, 3), lfs: true },
    ]);
    const q8Pull = await drain(pullModel(store, "hf.co/someone/Tiny-GGUF:Q8_0", { env }));
    expect(q8Pull.error).toBeUndefined();
    const m8 = store.get("hf.co/someone/Tiny-GGUF:Q8_0");
    expect(m8.config).toMatchObject({ model_format: "gguf", model_family: "llama", file_type: "Q8_0" });
    expect(m8.manifest.layers).toEqual([{ mediaType: MEDIA.model, digest: `sha256:${sha256(q8)}`, size: q8.length }]);
    expect(new Uint8Array(readFileSync(store.modelPath(m8).path))).toEqual(q8);
    expect(hub.cdn.log.map((r) => r.path)).toEqual([`/lfs/${sha256(q8)}`]);

    expect((await drain(pullModel(store, "huggingface.co/someone/Tiny-GGUF", { env }))).error).toBeUndefined();
    expect(store.get("huggingface.co/someone/Tiny-GGUF:latest").config.file_type).toBe("Q4_K_M");

    const missing = await drain(pullModel(store, "hf.co/someone/Tiny-GGUF:Q5_K_S", { env }));
    expect(missing.error?.message).toBe('hf.co/someone/Tiny-GGUF has no GGUF file for quantization "Q5_K_S" (available: Q4_K_M, Q8_0)');
  });

  test("HF_TOKEN is sent to the Hub as a bearer token, and not to the CDN the LFS files redirect to", async () => {
    hub.addRepo("mlx-community/Gated", mlxRepo());
    hub.requireToken = "hf_secret";
    const anonymous = await drain(pullModel(store, "mlx-community/Gated", { env }));
    expect(anonymous.error?.message).toContain("needs HF_TOKEN");
    hub.log.length = 0;
    const { error } = await drain(pullModel(store, "mlx-community/Gated", { env: { ...env, HF_TOKEN: "hf_secret" } }));
    expect(error).toBeUndefined();
    expect(hub.log.length).toBeGreaterThan(0);
    for (const r of hub.log) expect(r.authorization).toBe("Bearer hf_secret");
    expect(hub.cdn.log.length).toBe(2);
    for (const r of hub.cdn.log) expect(r.authorization).toBeNull();
  });

  test("OLLAMA_MAX_TRANSFER_STREAMS=1 downloads one file at a time and still installs the model", async () => {
    hub.addRepo("mlx-community/Tiny-4bit", mlxRepo());
    const { error } = await drain(pullModel(store, "mlx-community/Tiny-4bit", { env: { ...env, OLLAMA_MAX_TRANSFER_STREAMS: "1" } }));
    expect(error).toBeUndefined();
    expect(store.list().length).toBe(1);
  });

  test("two pulls of the same model at once share each download, and one leaving does not stop the other", async () => {
    hub.addRepo("mlx-community/Tiny-4bit", mlxRepo());
    hub.cdn.faults.set(sha256(WEIGHTS), { slow: { chunk: 20_000, delayMs: 5 } });
    const leaving = new AbortController();
    const first = drain(pullModel(store, "mlx-community/Tiny-4bit", { env, signal: leaving.signal }));
    const second = drain(pullModel(store, "mlx-community/Tiny-4bit", { env }));
    await Bun.sleep(30);
    leaving.abort();
    expect((await first).error).toBeDefined();
    expect((await second).error).toBeUndefined();
    expect(hub.cdn.log.filter((r) => r.path === `/lfs/${sha256(WEIGHTS)}`).length).toBe(1);
    expect(store.list().length).toBe(1);
  });
});
