// Model management: tags, show, copy, delete, blobs and create.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { Ollama } from "ollama";
import { tinyQwen3Dir } from "./fixtures/tiny-model.ts";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
let ollama: Ollama;
beforeAll(async () => {
  server = await startServer();
  ollama = new Ollama({ host: server.url });
});
afterAll(() => server.close());

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

async function upload(bytes: Uint8Array): Promise<string> {
  const digest = `sha256:${sha256(bytes)}`;
  const r = await fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body: bytes });
  expect([200, 201]).toContain(r.status);
  return digest;
}

describe("model management", () => {
  test("GET /api/tags lists the model with details; HEAD answers 200", async () => {
    const { models } = await ollama.list();
    const tiny = models.find((m) => m.name === TINY)!;
    expect(tiny).toBeDefined();
    expect(tiny.model).toBe(TINY);
    expect(tiny.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(tiny.size).toBeGreaterThan(1_000_000);
    expect(tiny.details).toMatchObject({ format: "safetensors", family: "qwen3", parameter_size: "1.6M", quantization_level: "F32" });
    expect((await fetch(server.url + "/api/tags", { method: "HEAD" })).status).toBe(200);
  });

  test("POST /api/show returns details, model_info from config.json, the chat template and capabilities", async () => {
    const show = await ollama.show({ model: "TINY" }); // names are case-insensitive
    expect(show.model_info).toMatchObject({
      "general.architecture": "qwen3",
      "qwen3.context_length": 4096,
      "qwen3.embedding_length": 64,
      "qwen3.block_count": 2,
      "qwen3.attention.head_count": 4,
      "qwen3.attention.head_count_kv": 2,
    });
    expect(show.template).toContain("<|im_start|>");
    expect(show.capabilities).toEqual(["completion", "tools", "thinking"]);
    expect(show.modelfile).toContain(`FROM ${TINY}`);
    expect(Date.parse(show.modified_at as unknown as string)).toBeGreaterThan(0);
    const missing = await post(server.url, "/api/show", { model: "nope" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "model 'nope' not found" });
    const none = await post(server.url, "/api/show", {});
    expect(await none.json()).toEqual({ error: "model is required" });
  });

  test("copy makes a second name for the model; delete removes it", async () => {
    await ollama.copy({ source: TINY, destination: "copied:v1" });
    expect((await ollama.list()).models.map((m) => m.name)).toContain("copied:v1");
    const gone = await post(server.url, "/api/copy", { source: "ghost", destination: "x" });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ error: 'model "ghost" not found' });
    await ollama.delete({ model: "copied:v1" });
    expect((await ollama.list()).models.map((m) => m.name)).not.toContain("copied:v1");
    const again = await fetch(server.url + "/api/delete", { method: "DELETE", body: JSON.stringify({ model: "copied:v1" }) });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: "model 'copied:v1' not found" });
    // the original still works: blobs are shared and were kept
    expect((await ollama.show({ model: TINY })).details.family).toBe("qwen3");
  });

  test("blobs: upload (201, then 200), HEAD, digest mismatch and a malformed digest", async () => {
    const bytes = new TextEncoder().encode(`blob ${Math.random()}`);
    const digest = `sha256:${sha256(bytes)}`;
    expect((await fetch(`${server.url}/api/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
    expect((await fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body: bytes })).status).toBe(201);
    expect((await fetch(`${server.url}/api/blobs/${digest}`, { method: "POST", body: bytes })).status).toBe(200);
    expect((await fetch(`${server.url}/api/blobs/${digest}`, { method: "HEAD" })).status).toBe(200);
    const wrong = `sha256:${"0".repeat(64)}`;
    const mismatch = await fetch(`${server.url}/api/blobs/${wrong}`, { method: "POST", body: bytes });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toEqual({ error: `digest mismatch, expected "${wrong}", got "${digest}"` });
    expect((await fetch(`${server.url}/api/blobs/${wrong}`, { method: "HEAD" })).status).toBe(404);
    const malformed = await fetch(`${server.url}/api/blobs/sha256:xyz`, { method: "POST", body: bytes });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: "invalid digest format" });
  });

  test("create from an existing model adds system and parameters layers that generation honours", async () => {
    const progress: string[] = [];
    for await (const p of await ollama.create({ model: "terse", from: TINY, system: "Be terse.", parameters: { num_predict: 3, temperature: 0.5 }, stream: true })) {
      progress.push(p.status);
    }
    expect(progress.at(-1)).toBe("success");
    expect(progress).toContain("writing manifest");
    const show = await ollama.show({ model: "terse" });
    expect(show.system).toBe("Be terse.");
    expect(show.parameters).toContain("num_predict                    3");
    const r = await ollama.generate({ model: "terse", prompt: "hi" });
    expect(r.eval_count).toBe(3); // the params layer's num_predict
    const neither = await post(server.url, "/api/create", { model: "x" });
    expect(neither.status).toBe(400);
  });

  test("create from uploaded files imports an MLX model directory that then generates", async () => {
    const dir = tinyQwen3Dir();
    const files: Record<string, string> = {};
    for (const f of readdirSync(dir)) files[f] = await upload(new Uint8Array(readFileSync(join(dir, f))));
    // ollama-js 0.6 has no `files` in its CreateRequest type: the wire form is sent as curl would.
    const done = await post(server.url, "/api/create", { model: "uploaded", files, stream: false });
    expect(await done.json()).toEqual({ status: "success" });
    const show = await ollama.show({ model: "uploaded" });
    expect(show.details.family).toBe("qwen3");
    const r = await ollama.generate({ model: "uploaded", prompt: "hi", options: { num_predict: 2 } });
    expect(r.eval_count).toBe(2);
  });

  test("embeddings answer that the model does not support them", async () => {
    const r = await post(server.url, "/api/embed", { model: TINY, input: "hello" });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: "this model does not support embeddings" });
    const missing = await post(server.url, "/api/embed", { model: "ghost", input: "x" });
    expect(missing.status).toBe(404);
  });

  test("an unknown path is 404 page not found as text", async () => {
    const r = await fetch(server.url + "/api/nothing-here");
    expect(r.status).toBe(404);
    expect(await r.text()).toBe("404 page not found");
  });
});
