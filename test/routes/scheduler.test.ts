// Loading, keep_alive, eviction, the queue and cancellation, observed through the API (real runner processes).
import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import { tinyQwen3Dir, TINY_CONFIG } from "./fixtures/tiny-model.ts";
import { ndjson, post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function ps(url: string): Promise<{ name: string; size: number; size_vram: number; expires_at: string; context_length: number; digest: string; details: { family: string } }[]> {
  return ((await (await fetch(url + "/api/ps")).json()) as { models: never[] }).models;
}

/** Starts a long streamed generation and returns once its first chunk arrived. */
async function startLongGeneration(url: string, path: "/api/generate" | "/api/chat" = "/api/generate") {
  const controller = new AbortController();
  const body = { model: TINY, prompt: "go on", messages: [{ role: "user", content: "go on" }], options: { num_predict: 100_000, seed: 1 } };
  const response = await post(url, path, body, { signal: controller.signal });
  const reader = response.body!.getReader();
  await reader.read();
  return { controller, reader };
}

describe("scheduler", () => {
  test("an empty prompt loads the model (done_reason load) and /api/ps lists it", async () => {
    server = await startServer();
    expect(await ps(server.url)).toEqual([]);
    const response = await post(server.url, "/api/generate", { model: TINY });
    const [chunk] = await ndjson(response);
    expect(chunk).toMatchObject({ model: TINY, response: "", done: true, done_reason: "load" });
    expect(chunk).not.toHaveProperty("eval_count");
    const running = await ps(server.url);
    expect(running.map((m) => m.name)).toEqual([TINY]);
    const [m] = running;
    expect(m!.size).toBeGreaterThan(0);
    // MLX runs on the CPU backend on this machine: nothing is in GPU memory (`ollama ps` shows "100% CPU").
    expect(m!.size_vram).toBe(0);
    expect(m!.context_length).toBe(4096);
    expect(m!.details.family).toBe("qwen3");
    // default keep_alive: 5 minutes from now
    const left = Date.parse(m!.expires_at) - Date.now();
    expect(left).toBeGreaterThan(4 * 60_000);
    expect(left).toBeLessThanOrEqual(5 * 60_000 + 1000);
  });

  test("empty messages with keep_alive 0 unload the model (done_reason unload)", async () => {
    server = await startServer();
    const ollama = new Ollama({ host: server.url });
    await ollama.chat({ model: TINY, messages: [] });
    expect((await ps(server.url)).length).toBe(1);
    const reply = await ollama.chat({ model: TINY, messages: [], keep_alive: 0 });
    expect(reply.done_reason).toBe("unload");
    expect(await ps(server.url)).toEqual([]);
  });

  test("keep_alive 0 unloads the model when its request ends; negative keeps it forever", async () => {
    server = await startServer();
    const ollama = new Ollama({ host: server.url });
    await ollama.generate({ model: TINY, prompt: "hi", keep_alive: -1, options: { num_predict: 2 } });
    const [forever] = await ps(server.url);
    expect(Date.parse(forever!.expires_at)).toBeGreaterThan(Date.now() + 100 * 365 * 86400_000);
    await ollama.generate({ model: TINY, prompt: "hi", keep_alive: 0, options: { num_predict: 2 } });
    expect(await ps(server.url)).toEqual([]);
  });

  test("OLLAMA_MAX_LOADED_MODELS: loading another model evicts the idle one", async () => {
    server = await startServer({ maxLoaded: 1 });
    const ollama = new Ollama({ host: server.url });
    await ollama.copy({ source: TINY, destination: "tiny-two" });
    await ollama.generate({ model: TINY, prompt: "a", options: { num_predict: 1 } });
    await ollama.generate({ model: "tiny-two", prompt: "b", options: { num_predict: 1 } });
    expect((await ps(server.url)).map((m) => m.name)).toEqual(["tiny-two:latest"]);
  });

  test("a client that disconnects mid-stream stops its generation, and the runner serves the next request promptly", async () => {
    server = await startServer();
    const long = await startLongGeneration(server.url);
    long.controller.abort();
    // 100k tokens would take minutes: the next request only gets the runner this fast if the first was cancelled.
    const t0 = performance.now();
    const r = await new Ollama({ host: server.url }).generate({ model: TINY, prompt: "next", options: { num_predict: 3 } });
    expect(r.eval_count).toBe(3);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  test("the same holds for /api/chat: a disconnected chat stream is cancelled", async () => {
    server = await startServer();
    const long = await startLongGeneration(server.url, "/api/chat");
    long.controller.abort();
    const t0 = performance.now();
    const r = await new Ollama({ host: server.url }).chat({ model: TINY, messages: [{ role: "user", content: "next" }], options: { num_predict: 3 } });
    expect(r.eval_count).toBe(3);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  for (const path of ["/api/generate", "/api/chat", "/v1/chat/completions"] as const) {
    test(`a client that hangs up on a stream:false request stops its generation too (${path})`, async () => {
      // Nothing reads the events of a non-streaming request as they come: only the request's signal can stop it.
      server = await startServer();
      const gone = new AbortController();
      const long = { model: TINY, prompt: "go on", messages: [{ role: "user", content: "go on" }], stream: false };
      const body = path === "/v1/chat/completions" ? { ...long, max_tokens: 100_000, seed: 1 } : { ...long, options: { num_predict: 100_000, seed: 1 } };
      const hungUp = post(server.url, path, body, { signal: gone.signal }).catch((e: Error) => e.name);
      await Bun.sleep(1_500); // loaded and generating
      gone.abort();
      expect(await hungUp).toBe("AbortError");
      const t0 = performance.now();
      const r = await new Ollama({ host: server.url }).generate({ model: TINY, prompt: "next", options: { num_predict: 3 } });
      expect(r.eval_count).toBe(3);
      expect(performance.now() - t0).toBeLessThan(5_000);
    });
  }

  test("OLLAMA_NUM_PARALLEL=1: a request waits while another runs on the same model; a queued request whose client left is dropped", async () => {
    server = await startServer({ numParallel: 1 });
    const long = await startLongGeneration(server.url);
    const order: string[] = [];
    const queuedAbort = new AbortController();
    const dropped = post(server.url, "/api/generate", { model: TINY, prompt: "dropped", stream: false, options: { num_predict: 2 } }, { signal: queuedAbort.signal }).catch(() => "aborted");
    const second = post(server.url, "/api/generate", { model: TINY, prompt: "second", stream: false, options: { num_predict: 2 } }).then(async (r) => {
      order.push("second");
      return (await r.json()) as { eval_count: number };
    });
    await Bun.sleep(100);
    expect(order).toEqual([]); // still waiting behind the long generation
    queuedAbort.abort();
    expect(await dropped).toBe("aborted");
    long.controller.abort();
    expect((await second).eval_count).toBe(2);
  });

  test("OLLAMA_MAX_QUEUE: a request beyond the queue is 503 with Ollama's message", async () => {
    server = await startServer({ maxQueue: 1, numParallel: 1 });
    const long = await startLongGeneration(server.url);
    const waiting = new AbortController();
    const queued = post(server.url, "/api/generate", { model: TINY, prompt: "q", stream: false }, { signal: waiting.signal }).catch(() => null);
    await Bun.sleep(100);
    const busy = await post(server.url, "/api/generate", { model: TINY, prompt: "x" });
    expect(busy.status).toBe(503);
    expect(await busy.json()).toEqual({ error: "server busy, please try again.  maximum pending requests exceeded" });
    waiting.abort();
    await queued;
    long.controller.abort();
  });

  test("OLLAMA_NUM_PARALLEL=2: a second request runs beside a long one, a third waits for a slot", async () => {
    server = await startServer({ numParallel: 2 });
    const long = await startLongGeneration(server.url);
    const beside = (await (await post(server.url, "/api/generate", { model: TINY, prompt: "beside", stream: false, options: { num_predict: 3 } })).json()) as { eval_count: number };
    expect(beside.eval_count).toBe(3); // answered while the long one still holds its slot
    const other = await startLongGeneration(server.url); // both slots taken now
    let third = false;
    const waiting = post(server.url, "/api/generate", { model: TINY, prompt: "third", stream: false, options: { num_predict: 2 } }).then(async (r) => {
      third = true;
      return (await r.json()) as { eval_count: number };
    });
    await Bun.sleep(300);
    expect(third).toBe(false);
    long.controller.abort();
    expect((await waiting).eval_count).toBe(2);
    other.controller.abort();
  });

  test("four chats at once through the ollama client each get the answer they get alone, streamed and not", async () => {
    server = await startServer(); // OLLAMA_NUM_PARALLEL's default: 4 at once
    const client = new Ollama({ host: server.url });
    const questions = ["What is a cat?", "Name a river.", "Count to three.", "Say something nice."];
    const options = { temperature: 0, num_predict: 12, seed: 1 };
    const ask = async (content: string, stream: boolean) => {
      if (!stream) return (await client.chat({ model: TINY, messages: [{ role: "user", content }], options })).message.content;
      let text = "";
      for await (const part of await client.chat({ model: TINY, messages: [{ role: "user", content }], options, stream: true })) text += part.message.content;
      return text;
    };
    const alone: string[] = [];
    for (const q of questions) alone.push(await ask(q, false));
    const together = await Promise.all(questions.map((q, i) => ask(q, i % 2 === 0)));
    expect(together).toEqual(alone);
  });

  test("a model that fails to load answers with the error, and the server keeps serving", async () => {
    server = await startServer();
    const dir = mkdtempSync(join(tmpdir(), "ollmlx-broken-"));
    cpSync(tinyQwen3Dir(), dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, model_type: "no_such_arch" }));
    await server.store.importMlxDir("broken", dir, TINY_CONFIG);
    rmSync(dir, { recursive: true, force: true });
    const response = await post(server.url, "/api/generate", { model: "broken", prompt: "hi" });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: string }).error).toContain('model architecture "no_such_arch" is not supported');
    expect(await ps(server.url)).toEqual([]);
    const ok = await new Ollama({ host: server.url }).generate({ model: TINY, prompt: "hi", options: { num_predict: 2 } });
    expect(ok.eval_count).toBe(2);
  });
});

describe("ollmlx serve", () => {
  test("SIGTERM stops the server and every runner process", async () => {
    const root = mkdtempSync(join(tmpdir(), "ollmlx-serve-"));
    const { Store } = await import("../../src/store/store.ts");
    await new Store(root).importMlxDir(TINY, tinyQwen3Dir(), TINY_CONFIG);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/index.ts"), "serve"], {
      env: { ...process.env, OLLAMA_HOST: `127.0.0.1:${port}`, OLLMLX_MODELS: root },
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100 && !(await fetch(url).then((r) => r.ok, () => false)); i++) await Bun.sleep(50);
      await post(url, "/api/generate", { model: TINY }).then((r) => r.text());
      const children = Bun.spawnSync(["ps", "-o", "pid=", "--ppid", String(proc.pid)]).stdout.toString().trim().split(/\s+/).filter(Boolean).map(Number);
      expect(children.length).toBe(1); // the runner
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      for (const pid of children) expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      proc.kill("SIGKILL");
      rmSync(root, { recursive: true, force: true });
    }
  });
});
