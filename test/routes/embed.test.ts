// Embeddings through the real `ollama` and `openai` clients against a real server and runner, with the real
// all-MiniLM-L6-v2 (a sentence-transformers directory imported into the store as all-minilm).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { readFileSync } from "node:fs";
import { mlxConfigBlob } from "../../src/store/pull-hf.ts";
import { allMiniLmDir } from "../fixtures/all-minilm.ts";
import { allMiniLmGguf, MLX_EMBEDDINGS, tinyEmbeddingGemmaDir, tinyEmbeddingGemmaGguf, tinyQwen3EmbeddingDir } from "../fixtures/encoders.ts";
import { rmSync } from "node:fs";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { oracleDep, REPO_ROOT, runOracleScript } from "../oracle.ts";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

const MODEL = "all-minilm";
let server: TestServer;
let ollama: Ollama;
let openai: OpenAI;

beforeAll(async () => {
  server = await startServer();
  const dir = allMiniLmDir();
  await server.store.importMlxDir(MODEL, dir, mlxConfigBlob(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))));
  ollama = new Ollama({ host: server.url });
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "ollmlx" });
});
afterAll(() => server.close());

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const cosine = (a: number[], b: number[]) => dot(a, b) / (norm(a) * norm(b));

async function errorOf(path: string, body: unknown): Promise<[number, unknown]> {
  const r = await post(server.url, path, body);
  return [r.status, await r.json()];
}

describe("/api/embed", () => {
  test("ollama.embed: unit vectors that match the oracle, Ollama's fields", async () => {
    const texts = ["The cat sits on the mat.", "Ein Hund läuft im Park — schnell!"];
    const r = await ollama.embed({ model: MODEL, input: texts });
    expect(r.model).toBe(MODEL);
    expect(r.embeddings).toHaveLength(2);
    const want = runOracleScript<{ ids: number[][]; normalized: number[][] }>(join(REPO_ROOT, "test/fixtures/embed_oracle.py"), { dir: allMiniLmDir(), texts }, [
      oracleDep("mlx-embeddings-0.1.0"),
    ]);
    for (let i = 0; i < 2; i++) {
      expect(r.embeddings[i]).toHaveLength(384);
      expect(Math.abs(norm(r.embeddings[i]!) - 1)).toBeLessThan(1e-6);
      expect(cosine(r.embeddings[i]!, want.normalized[i]!)).toBeGreaterThanOrEqual(0.9999);
    }
    expect(r.total_duration).toBeGreaterThan(0);
    expect(r.load_duration).toBeGreaterThan(0);
    expect(r.prompt_eval_count).toBe(want.ids.flat().length);
  });

  test("paraphrases score closer than unrelated sentences", async () => {
    const { embeddings: [a, b, c] } = await ollama.embed({
      model: MODEL,
      input: ["How do I reset my password?", "I forgot my password, how can I change it?", "The weather in Lisbon is sunny today."],
    });
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!) + 0.3);
  });

  test("a batch answers what each input answers alone, in order", async () => {
    const inputs = ["short", "a somewhat longer sentence about padding and masks in a batch", "mid length text here"];
    const batch = await ollama.embed({ model: MODEL, input: inputs });
    for (let i = 0; i < inputs.length; i++) {
      const alone = await ollama.embed({ model: MODEL, input: inputs[i]! });
      expect(cosine(batch.embeddings[i]!, alone.embeddings[0]!)).toBeGreaterThan(0.99999);
    }
  });

  test("requests from clients that arrive together get their own vectors", async () => {
    const inputs = ["first client", "second client text", "third"];
    const alone = await Promise.all(inputs.map((input) => ollama.embed({ model: MODEL, input })));
    const together = await Promise.all(inputs.map((input) => ollama.embed({ model: MODEL, input })));
    for (let i = 0; i < inputs.length; i++) expect(cosine(together[i]!.embeddings[0]!, alone[i]!.embeddings[0]!)).toBeGreaterThan(0.99999);
  });

  test("dimensions cuts the vector and normalizes it again; more than the model's is 400", async () => {
    const full = (await ollama.embed({ model: MODEL, input: "matryoshka" })).embeddings[0]!;
    const cut = (await ollama.embed({ model: MODEL, input: "matryoshka", dimensions: 64 })).embeddings[0]!;
    expect(cut).toHaveLength(64);
    expect(Math.abs(norm(cut) - 1)).toBeLessThan(1e-6);
    const prefix = full.slice(0, 64);
    cut.forEach((x, i) => expect(x).toBeCloseTo(prefix[i]! / norm(prefix), 6));
    expect(await errorOf("/api/embed", { model: MODEL, input: "x", dimensions: 385 })).toEqual([
      400,
      { error: "dimensions 385 is larger than the model's embedding length 384" },
    ]);
  });

  test("an input over the context: cut to 512 tokens by default, Ollama's 400 with truncate false", async () => {
    const long = "word ".repeat(700);
    const r = await ollama.embed({ model: MODEL, input: long });
    expect(r.prompt_eval_count).toBe(512);
    expect(await errorOf("/api/embed", { model: MODEL, input: long, truncate: false })).toEqual([400, { error: "the input length exceeds the context length" }]);
    // num_ctx below the model's context cuts there
    expect((await ollama.embed({ model: MODEL, input: long, options: { num_ctx: 100 } })).prompt_eval_count).toBe(100);
  });

  test("empty input gives no embeddings; mixed types and numbers are 400 invalid input type", async () => {
    expect(await (await post(server.url, "/api/embed", { model: MODEL, input: "" })).json()).toEqual({ model: MODEL, embeddings: [] });
    expect(await (await post(server.url, "/api/embed", { model: MODEL, input: [] })).json()).toEqual({ model: MODEL, embeddings: [] });
    expect((await ollama.embed({ model: MODEL, input: [""] })).embeddings[0]).toHaveLength(384);
    expect(await errorOf("/api/embed", { model: MODEL, input: ["a", 1] })).toEqual([400, { error: "invalid input type" }]);
  });

  test("a model that cannot embed, and one that is not there", async () => {
    expect(await errorOf("/api/embed", { model: TINY, input: "x" })).toEqual([400, { error: "this model does not support embeddings" }]);
    expect(await errorOf("/api/embed", { model: "nope", input: "x" })).toEqual([404, { error: 'model "nope" not found, try pulling it first' }]);
  });
});

describe("/api/embeddings (legacy)", () => {
  test("ollama.embeddings: the pooled vector, not normalized, pointing where /api/embed's does", async () => {
    const legacy = await ollama.embeddings({ model: MODEL, prompt: "legacy route" });
    const unit = (await ollama.embed({ model: MODEL, input: "legacy route" })).embeddings[0]!;
    expect(legacy.embedding).toHaveLength(384);
    expect(Math.abs(norm(legacy.embedding) - 1)).toBeGreaterThan(0.01);
    expect(cosine(legacy.embedding, unit)).toBeGreaterThan(0.99999);
    expect(await (await post(server.url, "/api/embeddings", { model: MODEL, prompt: "" })).json()).toEqual({ embedding: [] });
  });
});

describe("/v1/embeddings", () => {
  test("openai.embeddings.create: floats, base64 (the client's default) and usage", async () => {
    const floats = await openai.embeddings.create({ model: MODEL, input: ["one", "two words"], encoding_format: "float" });
    expect(floats.object).toBe("list");
    expect(floats.model).toBe(MODEL);
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    expect(floats.data[0]!.embedding).toHaveLength(384);
    expect(floats.usage.prompt_tokens).toBe(3 + 4);
    expect(floats.usage.total_tokens).toBe(floats.usage.prompt_tokens);
    // without encoding_format the client asks for base64 and decodes the float32 bytes itself
    const decoded = await openai.embeddings.create({ model: MODEL, input: ["one", "two words"] });
    decoded.data.forEach((d, i) => expect(cosine(d.embedding, floats.data[i]!.embedding)).toBeGreaterThan(0.999999));
    const raw = (await (await post(server.url, "/v1/embeddings", { model: MODEL, input: "one", encoding_format: "base64" })).json()) as {
      data: { embedding: string }[];
    };
    const bytes = Buffer.from(raw.data[0]!.embedding, "base64");
    expect(bytes.byteLength).toBe(384 * 4);
    expect(new Float32Array(bytes.buffer, bytes.byteOffset, 384)[0]).toBeCloseTo(floats.data[0]!.embedding[0]!, 6);
  });

  test("token arrays embed as the model's ids; dimensions; bad input is OpenAI's 400", async () => {
    const text = await openai.embeddings.create({ model: MODEL, input: "hello world", encoding_format: "float", dimensions: 32 });
    const ids = await openai.embeddings.create({ model: MODEL, input: [101, 7592, 2088, 102], encoding_format: "float", dimensions: 32 });
    const many = await openai.embeddings.create({ model: MODEL, input: [[101, 7592, 2088, 102], [101, 102]], encoding_format: "float" });
    expect(ids.data[0]!.embedding).toHaveLength(32);
    expect(cosine(ids.data[0]!.embedding, text.data[0]!.embedding)).toBeGreaterThan(0.99999);
    expect(many.data).toHaveLength(2);
    const [status, body] = await errorOf("/v1/embeddings", { model: MODEL, input: [] });
    expect(status).toBe(400);
    expect((body as { error: { message: string } }).error.message).toBe("invalid input");
    const [s2, b2] = await errorOf("/v1/embeddings", { model: MODEL, input: [101, 99999999] });
    expect(s2).toBe(400);
    expect((b2 as { error: { message: string } }).error.message).toContain("not in the vocabulary");
  });
});

describe("a GGUF embedding model (as the Ollama registry serves all-minilm)", () => {
  test("embeds what the safetensors model embeds, and shows the embedding capability", async () => {
    const file = allMiniLmGguf();
    await server.store.importGguf("all-minilm:f16", file, ggufConfigBlob(file));
    const input = ["GGUF on MLX", "a second, longer input for the padded batch"];
    const fromGguf = await ollama.embed({ model: "all-minilm:f16", input });
    const fromDir = await ollama.embed({ model: MODEL, input });
    for (let i = 0; i < input.length; i++) expect(cosine(fromGguf.embeddings[i]!, fromDir.embeddings[i]!)).toBeGreaterThanOrEqual(0.9999);
    expect(fromGguf.prompt_eval_count).toBe(fromDir.prompt_eval_count);
    expect((await ollama.show({ model: "all-minilm:f16" })).capabilities).toEqual(["embedding"]);
    expect(await errorOf("/api/chat", { model: "all-minilm:f16", messages: [{ role: "user", content: "hi" }] })).toEqual([
      400,
      { error: '"all-minilm:f16" does not support chat' },
    ]);
  });
});

describe("a decoder embedding model (a qwen3 sentence-transformers directory, as Qwen3-Embedding)", () => {
  test("shows only the embedding capability and embeds unit vectors; chat refuses it", async () => {
    const dir = await tinyQwen3EmbeddingDir();
    try {
      await server.store.importMlxDir("tiny-qwen3-embedding", dir, mlxConfigBlob(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await ollama.show({ model: "tiny-qwen3-embedding" })).capabilities).toEqual(["embedding"]);
    const r = await ollama.embed({ model: "tiny-qwen3-embedding", input: ["one", "two words here"] });
    expect(r.embeddings.map((v) => v.length)).toEqual([64, 64]);
    expect(Math.abs(norm(r.embeddings[1]!) - 1)).toBeLessThan(1e-6);
    const [status] = await errorOf("/api/chat", { model: "tiny-qwen3-embedding", messages: [{ role: "user", content: "hi" }] });
    expect(status).toBe(400);
  });
});

describe("EmbeddingGemma (bidirectional Gemma 3 with Dense projections), tiny, in both formats", () => {
  test("the directory (module folders and all) and the Ollama registry's GGUF embed the oracle's unit vectors", async () => {
    const dir = await tinyEmbeddingGemmaDir();
    await server.store.importMlxDir("tiny-embeddinggemma", dir, mlxConfigBlob(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))));
    const file = await tinyEmbeddingGemmaGguf("ollama", 512);
    await server.store.importGguf("tiny-embeddinggemma:gguf", file, ggufConfigBlob(file));
    const input = ["hello", "mid length text"];
    const ref = runOracleScript<{ ids: number[][]; embeds: number[][] }>(join(REPO_ROOT, "test/fixtures/embed_oracle.py"), { dir, texts: input }, [oracleDep(MLX_EMBEDDINGS)]);
    for (const model of ["tiny-embeddinggemma", "tiny-embeddinggemma:gguf"]) {
      expect((await ollama.show({ model })).capabilities).toEqual(["embedding"]);
      const r = await ollama.embed({ model, input });
      expect(r.embeddings.map((v) => v.length)).toEqual([48, 48]);
      for (let i = 0; i < input.length; i++) expect(cosine(r.embeddings[i]!, ref.embeds[i]!)).toBeGreaterThanOrEqual(0.9999);
      expect(r.prompt_eval_count).toBe(ref.ids[0]!.length + ref.ids[1]!.length); // <bos> … <eos> around each input
    }
    const v1 = await openai.embeddings.create({ model: "tiny-embeddinggemma", input: "hello", dimensions: 16 });
    expect(v1.data[0]!.embedding).toHaveLength(16);
  });
});

describe("an embedding model elsewhere in the API", () => {
  test("/api/show lists the embedding capability only; /api/ps shows its runner", async () => {
    const show = await ollama.show({ model: MODEL });
    expect(show.capabilities).toEqual(["embedding"]);
    await ollama.embed({ model: MODEL, input: "loaded now" });
    const ps = await ollama.ps();
    expect(ps.models.map((m) => m.name)).toContain("all-minilm:latest");
  });

  test("keep_alive 0 unloads the embedding runner once the request is answered", async () => {
    const r = await ollama.embed({ model: MODEL, input: "and now unload", keep_alive: 0 });
    expect(r.embeddings).toHaveLength(1);
    expect((await ollama.ps()).models.map((m) => m.name)).not.toContain("all-minilm:latest");
  });

  test("generate and chat answer Ollama's 400", async () => {
    expect(await errorOf("/api/generate", { model: MODEL, prompt: "hi" })).toEqual([400, { error: '"all-minilm" does not support generate' }]);
    expect(await errorOf("/api/chat", { model: MODEL, messages: [{ role: "user", content: "hi" }] })).toEqual([
      400,
      { error: '"all-minilm" does not support chat' },
    ]);
    const [status] = await errorOf("/v1/chat/completions", { model: MODEL, messages: [{ role: "user", content: "hi" }] });
    expect(status).toBe(400);
  });
});
