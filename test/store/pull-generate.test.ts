// Pull each kind of model end to end and generate with it on the same server, real MLX answering:
//   an mlx-community safetensors repo on a fake Hub (the tiny random-weight Qwen3 that mlx-lm built),
//   a GGUF repo on the fake Hub and an Ollama registry model (the real SmolLM2-135M Q4_1 GGUF with template, params,
//   system and license layers): greedy "What is the capital of France?" answers Paris.
// Deleting a model removes the blobs no other manifest uses, and keeps the ones another model shares.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MEDIA } from "../../src/store/store.ts";
import { tinyQwen3Dir } from "../routes/fixtures/tiny-model.ts";
import { post, startServer, TINY, type TestServer } from "../routes/harness.ts";
import { FakeHub, FakeRegistry, sha256, text, type Bytes, type RepoFile } from "./fake-servers.ts";

const REPO_ROOT = join(import.meta.dir, "../..");
const SMOLLM2: Bytes = new Uint8Array(readFileSync(join(REPO_ROOT, ".deps/models/smollm2-135m-instruct-q4_1.gguf")));
const GGUF_DIGEST = `sha256:${sha256(SMOLLM2)}`;
// SmolLM2's ChatML, as Ollama's library template writes it
const CHATML = `{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ .Response }}`;
const QUESTION = "What is the capital of France?";

let server: TestServer;
let hub: FakeHub;
let registry: FakeRegistry;
const savedEndpoint = process.env.HF_ENDPOINT;

beforeAll(async () => {
  hub = new FakeHub();
  const dir = tinyQwen3Dir();
  const files: RepoFile[] = readdirSync(dir).sort().map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))), lfs: name.endsWith(".safetensors") }));
  hub.addRepo("mlx-community/Tiny-Qwen3", files);
  hub.addRepo("bartowski/SmolLM2-135M-Instruct-GGUF", [
    { name: "README.md", bytes: text("# SmolLM2\n") },
    { name: "SmolLM2-135M-Instruct-Q4_1.gguf", bytes: SMOLLM2, lfs: true },
  ]);
  registry = new FakeRegistry();
  registry.publish("library/smollm2", "135m", text(JSON.stringify({ model_format: "gguf", model_family: "llama", model_families: ["llama"], model_type: "135M", file_type: "Q4_1" })), [
    { mediaType: MEDIA.model, bytes: SMOLLM2 },
    { mediaType: MEDIA.template, bytes: text(CHATML) },
    { mediaType: MEDIA.params, bytes: text(JSON.stringify({ stop: ["<|im_start|>", "<|im_end|>"], temperature: 0 })) },
    { mediaType: MEDIA.system, bytes: text("You are a helpful AI assistant named SmolLM, trained by Hugging Face") },
    { mediaType: MEDIA.license, bytes: text("Apache License 2.0") },
  ]);
  process.env.HF_ENDPOINT = hub.endpoint;
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
  hub.stop();
  registry.stop();
  if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
  else process.env.HF_ENDPOINT = savedEndpoint;
});

async function pull(model: string, insecure = false): Promise<void> {
  const res = await post(server.url, "/api/pull", { model, insecure, stream: false });
  expect(await res.json()).toEqual({ status: "success" });
}

interface Generated {
  response: string;
  done: boolean;
  eval_count: number;
}

async function generate(model: string, prompt: string, options: Record<string, unknown>): Promise<Generated> {
  const res = await post(server.url, "/api/generate", { model, prompt, stream: false, options });
  const raw = await res.text();
  expect(`${res.status} ${raw.slice(0, 500)}`).toStartWith("200 {");
  const body = JSON.parse(raw) as Generated & { error?: string };
  expect(body.error).toBeUndefined();
  return body;
}

async function remove(model: string): Promise<void> {
  const res = await fetch(`${server.url}/api/delete`, { method: "DELETE", body: JSON.stringify({ model }) });
  expect(res.status).toBe(200);
}

const listed = () => server.store.list().map((m) => m.display);
const ggufDownloads = () => [...hub.cdn.log, ...registry.storage.log].filter((r) => r.path.includes(sha256(SMOLLM2))).length;

describe("pull, then generate", () => {
  test("an mlx-community repo from the Hub generates exactly what the same model imported locally does", async () => {
    await pull("mlx-community/Tiny-Qwen3");
    expect(listed()).toContain("mlx-community/Tiny-Qwen3:latest");
    const options = { seed: 42, temperature: 1.0, num_predict: 12 };
    const pulled = await generate("mlx-community/Tiny-Qwen3", "Tell me a story", options);
    expect(pulled.done).toBe(true);
    expect(pulled.eval_count).toBe(12);
    expect(pulled.response.length).toBeGreaterThan(0);
    const local = await generate(TINY, "Tell me a story", options);
    expect(pulled.response).toBe(local.response);
  }, 300_000);

  test("an Ollama registry model (GGUF + template, params, system, license) answers Paris greedily", async () => {
    const name = `${registry.host}/library/smollm2:135m`;
    await pull(name, true);
    expect(ggufDownloads()).toBe(1);
    const r = await generate(name, QUESTION, { num_predict: 24 });
    expect(r.done).toBe(true);
    expect(r.response).toContain("Paris");

    // deleting it removes every blob of its own: nothing else uses them
    const manifest = server.store.get(name).manifest;
    await remove(name);
    for (const l of [manifest.config, ...manifest.layers]) expect(existsSync(server.store.blobPath(l.digest))).toBe(false);
    expect(listed()).not.toContain(name);
    // the other models are untouched
    for (const m of server.store.list()) for (const l of m.manifest.layers) expect(existsSync(server.store.blobPath(l.digest))).toBe(true);
  }, 300_000);

  test("a GGUF repo from the Hub answers Paris greedily; a blob two models share outlives deleting one of them", async () => {
    const hfName = "hf.co/bartowski/SmolLM2-135M-Instruct-GGUF:Q4_1";
    await pull(hfName);
    expect(ggufDownloads()).toBe(2);
    const r = await generate(hfName, QUESTION, { temperature: 0, num_predict: 24 });
    expect(r.done).toBe(true);
    expect(r.response).toContain("Paris");

    // the registry model again: its GGUF layer is already in the store, so only the small layers are fetched
    const registryName = `${registry.host}/library/smollm2:135m`;
    await pull(registryName, true);
    expect(ggufDownloads()).toBe(2);
    await remove(hfName);
    expect(existsSync(server.store.blobPath(GGUF_DIGEST))).toBe(true);
    expect(listed()).toContain(registryName);
    await remove(registryName);
    expect(existsSync(server.store.blobPath(GGUF_DIGEST))).toBe(false);
  }, 300_000);
});
