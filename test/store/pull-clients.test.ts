// The `ollama` npm client's pull against a real ollmlx server, pulling from a local fake Ollama registry and a local
// fake Hugging Face Hub: the progress objects it yields are Ollama's (status, then per layer digest/total/completed
// growing to total, then success), stream:false answers success alone, and a failure reaches the client as an error.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama, type ProgressResponse } from "ollama";
import { MEDIA } from "../../src/store/store.ts";
import { startServer, type TestServer } from "../routes/harness.ts";
import { bytesOf, FakeHub, FakeRegistry, sha256, text, tinyGguf } from "./fake-servers.ts";

let server: TestServer;
let ollama: Ollama;
let hub: FakeHub;
let registry: FakeRegistry;
const savedEndpoint = process.env.HF_ENDPOINT;

const WEIGHTS = bytesOf(600_000, 51);
const GGUF = tinyGguf(2);

beforeAll(async () => {
  hub = new FakeHub();
  hub.addRepo("mlx-community/Tiny-4bit", [
    { name: "config.json", bytes: text(JSON.stringify({ model_type: "qwen3" })) },
    { name: "tokenizer.json", bytes: text("{}") },
    { name: "model.safetensors", bytes: WEIGHTS, lfs: true },
  ]);
  registry = new FakeRegistry();
  registry.publish("library/tiny", "latest", text(JSON.stringify({ model_format: "gguf", model_family: "llama" })), [
    { mediaType: MEDIA.model, bytes: GGUF },
    { mediaType: MEDIA.template, bytes: text("{{ .Prompt }}") },
    { mediaType: MEDIA.license, bytes: text("MIT") },
  ]);
  // the server's pulls read HF_ENDPOINT from the environment when they start
  process.env.HF_ENDPOINT = hub.endpoint;
  server = await startServer();
  ollama = new Ollama({ host: server.url });
});

afterAll(async () => {
  await server.close();
  hub.stop();
  registry.stop();
  if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
  else process.env.HF_ENDPOINT = savedEndpoint;
});

async function pullAll(model: string, insecure = false): Promise<ProgressResponse[]> {
  const parts: ProgressResponse[] = [];
  for await (const part of await ollama.pull({ model, stream: true, insecure })) parts.push(part);
  return parts;
}

/** Checks the stream's shape and returns the digests it reported, each with its final completed count. */
function expectOllamaProgress(parts: ProgressResponse[]): Map<string, number> {
  expect(parts[0]).toEqual({ status: "pulling manifest" } as ProgressResponse);
  expect(parts.slice(-3).map((p) => p.status)).toEqual(["verifying sha256 digest", "writing manifest", "success"]);
  const last = new Map<string, number>();
  for (const p of parts.slice(1, -3)) {
    expect(p.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(p.status).toBe(`pulling ${p.digest.slice(7, 19)}`);
    // total and completed are omitted when zero, as Ollama's omitempty fields are
    expect(p.total).toBeGreaterThan(0);
    expect(p.completed === undefined || p.completed > 0).toBe(true);
    const completed = p.completed ?? 0;
    expect(completed).toBeLessThanOrEqual(p.total);
    expect(completed).toBeGreaterThanOrEqual(last.get(p.digest) ?? 0);
    last.set(p.digest, completed);
  }
  return last;
}

describe("the ollama npm client pulls through ollmlx", () => {
  test("from an Ollama registry: progress per layer up to its size, then success, then listed", async () => {
    const name = `${registry.host}/library/tiny`;
    const parts = await pullAll(name, true);
    const finals = expectOllamaProgress(parts);
    const manifest = JSON.parse(new TextDecoder().decode(registry.manifests.get("library/tiny:latest")!)) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
    const layers = [...manifest.layers, manifest.config];
    expect([...finals.keys()].sort()).toEqual(layers.map((l) => l.digest).sort());
    for (const l of layers) {
      expect(finals.get(l.digest)).toBe(l.size);
      expect(parts.find((p) => p.digest === l.digest)!.total).toBe(l.size);
    }
    const { models } = await ollama.list();
    expect(models.map((m) => m.name)).toContain(`${name}:latest`);
  });

  test("from the Hugging Face Hub: the weights' progress grows to their size, stream:false answers success alone", async () => {
    const parts = await pullAll("mlx-community/Tiny-4bit");
    const finals = expectOllamaProgress(parts);
    const weights = parts.filter((p) => p.digest === `sha256:${sha256(WEIGHTS)}`);
    expect(weights.length).toBeGreaterThanOrEqual(1);
    expect(weights.every((p) => p.total === WEIGHTS.length)).toBe(true);
    expect(finals.get(`sha256:${sha256(WEIGHTS)}`)).toBe(WEIGHTS.length);
    expect(finals.size).toBe(3); // config.json, tokenizer.json, model.safetensors

    expect(await ollama.pull({ model: "mlx-community/Tiny-4bit", stream: false })).toEqual({ status: "success" } as ProgressResponse);
    const { models } = await ollama.list();
    expect(models.map((m) => m.name)).toContain("mlx-community/Tiny-4bit:latest");
  });

  test("a failed pull reaches the client as an error with Ollama's message, streamed or not", async () => {
    await expect(pullAll(`${registry.host}/library/missing`, true)).rejects.toThrow("pull model manifest: file does not exist");
    await expect(ollama.pull({ model: `${registry.host}/library/missing`, insecure: true, stream: false })).rejects.toThrow("pull model manifest: file does not exist");
    await expect(ollama.pull({ model: "../x", stream: false })).rejects.toThrow("invalid model name");
  });
});
