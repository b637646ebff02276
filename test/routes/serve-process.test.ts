// `ollmlx serve` as a user runs it: a separate process (bun src/index.ts serve) on OLLAMA_HOST with its store in
// OLLMLX_MODELS, driven over TCP by the official clients, the `ollama` and `openai` npm packages. Also: a client
// that goes away mid-stream stops its generation, and SIGTERM ends the server cleanly with its runners.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { MEDIA, Store } from "../../src/store/store.ts";
import { freePort, ROOT, waitForVersion } from "../binary/dist.ts";
import { FakeRegistry, text, tinyGguf } from "../store/fake-servers.ts";
import { TINY_CONFIG, tinyQwen3Dir } from "./fixtures/tiny-model.ts";
import { TINY } from "./harness.ts";

let serve: ReturnType<typeof Bun.spawn>;
let url: string;
let models: string;
let registry: FakeRegistry;
let ollama: Ollama;
let openai: OpenAI;
let stderr = "";

beforeAll(async () => {
  models = mkdtempSync(join(tmpdir(), "ollmlx-serve-store-"));
  await new Store(models).importMlxDir(TINY, tinyQwen3Dir(), TINY_CONFIG);
  registry = new FakeRegistry();
  registry.publish("library/pulled", "latest", text(JSON.stringify({ model_format: "gguf", model_family: "llama" })), [
    { mediaType: MEDIA.model, bytes: tinyGguf(2) },
    { mediaType: MEDIA.template, bytes: text("{{ .Prompt }}") },
  ]);
  const port = freePort();
  url = `http://127.0.0.1:${port}`;
  serve = Bun.spawn([join(ROOT, "node_modules/.bin/bun"), join(ROOT, "src/index.ts"), "serve"], {
    cwd: ROOT,
    env: { ...process.env, OLLAMA_HOST: `127.0.0.1:${port}`, OLLMLX_MODELS: models },
    stdout: "ignore",
    stderr: "pipe",
  });
  // kept for failure messages
  void (async () => {
    for await (const chunk of serve.stderr as ReadableStream<Uint8Array>) stderr += new TextDecoder().decode(chunk);
  })();
  await waitForVersion(url, 60_000, 50);
  ollama = new Ollama({ host: url });
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "ollmlx" });
}, 120_000);

afterAll(async () => {
  if (serve.exitCode === null) {
    serve.kill("SIGKILL");
    await serve.exited;
  }
  registry.stop();
  rmSync(models, { recursive: true, force: true });
});

/** Every process whose parent is `pid` (from /proc: field 4 of /proc/N/stat, after the parenthesised name). */
function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");

describe("the ollama client against a serve process", () => {
  test("list, show and ps describe the imported model", async () => {
    const list = await ollama.list();
    expect(list.models.map((m) => m.name)).toEqual([TINY]);
    expect(list.models[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
    const show = await ollama.show({ model: TINY });
    expect(show.capabilities).toContain("completion");
    expect(show.details.family).toBe("qwen3");
    expect(Array.isArray((await ollama.ps()).models)).toBe(true);
  });

  test("generate and chat, streamed and not, give the same seeded text; ps then lists the runner", async () => {
    const options = { num_predict: 6, seed: 5, temperature: 0.7 };
    let streamed = "";
    for await (const part of await ollama.generate({ model: TINY, prompt: "Hello", stream: true, options })) streamed += part.response;
    const whole = await ollama.generate({ model: TINY, prompt: "Hello", stream: false, options });
    expect(whole.response).toBe(streamed);
    expect(whole.eval_count).toBe(6);

    const messages = [{ role: "user", content: "Hi" }];
    let content = "";
    for await (const part of await ollama.chat({ model: TINY, messages, stream: true, options })) content += part.message.content;
    const reply = await ollama.chat({ model: TINY, messages, stream: false, options });
    expect(reply.message.content).toBe(content);
    expect(reply.done_reason).toBe("length");

    const ps = await ollama.ps();
    expect(ps.models.map((m) => m.name)).toEqual([TINY]);
  });

  test("copy, create from an existing model, and delete", async () => {
    await ollama.copy({ source: TINY, destination: "tiny-copy" });
    await ollama.create({ model: "tiny-terse", from: TINY, system: "Be terse." });
    const names = (await ollama.list()).models.map((m) => m.name).sort();
    expect(names).toEqual(["tiny-copy:latest", "tiny-terse:latest", TINY].sort());
    expect((await ollama.show({ model: "tiny-terse" })).system).toBe("Be terse.");
    await ollama.delete({ model: "tiny-copy" });
    await ollama.delete({ model: "tiny-terse" });
    expect((await ollama.list()).models.map((m) => m.name)).toEqual([TINY]);
    await expect(ollama.delete({ model: "tiny-copy" })).rejects.toThrow("model 'tiny-copy' not found");
  });

  test("pull from a local registry ends in success and lists the model", async () => {
    const statuses: string[] = [];
    for await (const part of await ollama.pull({ model: `${registry.host}/library/pulled`, insecure: true, stream: true })) {
      statuses.push(part.status);
    }
    expect(statuses[0]).toBe("pulling manifest");
    expect(statuses.at(-1)).toBe("success");
    expect((await ollama.list()).models.map((m) => m.name)).toContain(`${registry.host}/library/pulled:latest`);
  });

  test("the server process never loads MLX: after list, show, create, pull and generation only its runners map libmlx", async () => {
    // the requests above ran in this process's server: tags, show, copy/create, pull, generate and chat
    expect((await ollama.list()).models.length).toBeGreaterThan(0);
    const mapped = (pid: number) => readFileSync(`/proc/${pid}/maps`, "utf8").split("\n").filter((l) => l.includes("libmlx"));
    expect(mapped(serve.pid!)).toEqual([]);
    // the check can fail: a runner of the same server does map it
    const runners = childrenOf(serve.pid!);
    expect(runners.some((pid) => existsSync(`/proc/${pid}/maps`) && mapped(pid).length > 0)).toBe(true);
  });
});

describe("the openai client against a serve process", () => {
  const messages = [{ role: "user" as const, content: "Say something" }];

  test("chat completions, streamed and not, agree", async () => {
    const whole = await openai.chat.completions.create({ model: TINY, messages, max_tokens: 5, seed: 2 });
    expect(whole.choices[0]!.finish_reason).toBe("length");
    expect(whole.usage?.completion_tokens).toBe(5);
    let streamed = "";
    for await (const chunk of await openai.chat.completions.create({ model: TINY, messages, max_tokens: 5, seed: 2, stream: true })) {
      streamed += chunk.choices[0]?.delta.content ?? "";
    }
    expect(streamed).toBe(whole.choices[0]!.message.content!);
  });

  test("completions, models, models/{id}, and the embeddings error", async () => {
    const completion = await openai.completions.create({ model: TINY, prompt: "Once", max_tokens: 3, seed: 1 });
    expect(completion.usage?.completion_tokens).toBe(3);
    expect((await openai.models.list()).data.map((m) => m.id)).toContain(TINY);
    expect((await openai.models.retrieve(TINY)).id).toBe(TINY);
    const missing = await openai.models.retrieve("ghost").then(() => null, (e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    const embedding = await openai.embeddings.create({ model: TINY, input: "hi" }).then(() => null, (e: unknown) => e);
    expect(embedding).toBeInstanceOf(OpenAI.BadRequestError);
    expect((embedding as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ type: "invalid_request_error", param: null, code: null });
  });
});

describe("disconnects and shutdown", () => {
  test("a client that disconnects mid-stream stops its generation: the next request is served promptly", async () => {
    // ~50k tokens at a few hundred tokens/s: minutes of work if the generation kept going after the disconnect
    const abort = new AbortController();
    const long = await fetch(`${url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: TINY, prompt: "Go on forever", options: { num_predict: 50_000, num_ctx: 65_536, seed: 1 } }),
      signal: abort.signal,
    });
    const reader = long.body!.getReader();
    let received = "";
    while (received.split("\n").length <= 5) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the long generation ended by itself: ${received}`);
      received += new TextDecoder().decode(value);
    }
    expect(received).not.toContain('"done":true');
    abort.abort();
    await reader.cancel().catch(() => {});

    const started = performance.now();
    const next = await ollama.generate({ model: TINY, prompt: "Next", stream: false, options: { num_predict: 3 } });
    const seconds = (performance.now() - started) / 1000;
    expect(next.eval_count).toBe(3);
    // the runner serves one request at a time: had the first kept going, this would wait for minutes
    expect(seconds).toBeLessThan(30);
  }, 120_000);

  test("SIGTERM: the server exits 0 and its runner processes are gone", async () => {
    await ollama.generate({ model: TINY, prompt: "warm", stream: false, options: { num_predict: 1 } });
    const runners = childrenOf(serve.pid);
    expect(runners.length).toBeGreaterThan(0);
    serve.kill("SIGTERM");
    const code = await Promise.race([serve.exited, Bun.sleep(30_000).then(() => "timeout")]);
    expect(code, stderr).toBe(0);
    const deadline = performance.now() + 10_000;
    while (runners.some(alive) && performance.now() < deadline) await Bun.sleep(50);
    expect(runners.filter(alive)).toEqual([]);
    await expect(fetch(`${url}/api/version`)).rejects.toThrow();
  }, 60_000);
});
