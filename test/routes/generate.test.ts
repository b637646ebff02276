// /api/generate and /api/chat through the ollama npm client against a real server and real MLX runners.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama } from "ollama";
import { ndjson, post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
let ollama: Ollama;
beforeAll(async () => {
  server = await startServer();
  ollama = new Ollama({ host: server.url });
});
afterAll(() => server.close());

const METRICS = ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"];
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

describe("POST /api/generate", () => {
  test("streams NDJSON: one object per line, text chunks then a final chunk with ns metrics", async () => {
    const response = await post(server.url, "/api/generate", { model: "tiny", prompt: "hello", options: { num_predict: 6, seed: 3 } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    const chunks = await ndjson(response);
    const last = chunks.at(-1)!;
    expect(chunks.slice(0, -1).every((c) => c.done === false && typeof c.response === "string")).toBe(true);
    expect(last).toMatchObject({ model: "tiny", done: true, done_reason: "length", response: "" });
    for (const key of METRICS) expect(Number.isInteger(last[key]) && (last[key] as number) > 0).toBe(true);
    // nanoseconds: the whole request took between 1 µs and a minute
    expect(last.total_duration as number).toBeGreaterThan(1_000);
    expect(last.total_duration as number).toBeLessThan(60e9);
    expect(last.total_duration as number).toBeGreaterThanOrEqual(last.eval_duration as number);
    for (const c of chunks) expect(c.created_at as string).toMatch(RFC3339_NANO);
  });

  test("the ollama client streams and aggregates (stream:false) the same generation", async () => {
    const options = { num_predict: 8, seed: 11, temperature: 0.9 };
    let streamed = "";
    let final: Record<string, unknown> | undefined;
    for await (const part of await ollama.generate({ model: TINY, prompt: "Why is the sky blue?", stream: true, options })) {
      streamed += part.response;
      if (part.done) final = part as unknown as Record<string, unknown>;
    }
    const whole = await ollama.generate({ model: TINY, prompt: "Why is the sky blue?", stream: false, options });
    expect(whole.response).toBe(streamed);
    expect(whole.done).toBe(true);
    expect(whole.eval_count).toBe(8);
    expect(final?.eval_count).toBe(8);
    expect(whole.done_reason).toBe("length");
  });

  test("a seed makes sampling at temperature > 0 repeatable, and another seed changes it", async () => {
    const run = (seed: number) =>
      ollama.generate({ model: TINY, prompt: "Tell me a story", stream: false, options: { seed, temperature: 1.0, num_predict: 12 } });
    const [a, b, c] = [await run(42), await run(42), await run(7)];
    expect(a.response).toBe(b.response);
    expect(a.response!.length).toBeGreaterThan(0);
    expect(c.response).not.toBe(a.response);
  });

  test("num_predict is enforced: eval_count equals it and done_reason is length", async () => {
    const r = await ollama.generate({ model: TINY, prompt: "count", stream: false, options: { num_predict: 17, seed: 5 } });
    expect(r.eval_count).toBe(17);
    expect(r.done_reason).toBe("length");
  });

  test("a stop string ends the response before it, with done_reason stop", async () => {
    const options = { seed: 9, temperature: 0.8, num_predict: 16 };
    const full = (await ollama.generate({ model: TINY, prompt: "stop here", stream: false, options })).response!;
    // a stop string taken from the middle of the seeded output
    const chunks: string[] = [];
    for await (const part of await ollama.generate({ model: TINY, prompt: "stop here", stream: true, options })) {
      if (part.response) chunks.push(part.response);
    }
    const stop = chunks.slice(3).find((c) => c.trim().length > 1 && full.indexOf(c) > 0)!;
    expect(stop).toBeDefined();
    const stopped = await ollama.generate({ model: TINY, prompt: "stop here", stream: false, options: { ...options, stop: [stop] } });
    expect(stopped.response).toBe(full.slice(0, full.indexOf(stop)));
    expect(stopped.done_reason).toBe("stop");
  });

  test("raw prompts are sent untemplated and still generate", async () => {
    const r = await ollama.generate({ model: TINY, prompt: "<|im_start|>user\nhi<|im_end|>\n", raw: true, stream: false, options: { num_predict: 3, seed: 1 } });
    expect(r.eval_count).toBe(3);
  });

  test("logprobs come back in Ollama's shape", async () => {
    const response = await post(server.url, "/api/generate", {
      model: TINY, prompt: "hi", stream: false, logprobs: true, top_logprobs: 3, options: { num_predict: 4, seed: 2 },
    });
    const body = (await response.json()) as { logprobs: { token: string; logprob: number; bytes: number[]; top_logprobs: { logprob: number }[] }[] };
    expect(body.logprobs.length).toBeGreaterThan(0);
    for (const lp of body.logprobs) {
      expect(typeof lp.token).toBe("string");
      expect(lp.logprob).toBeLessThanOrEqual(0);
      expect(Array.isArray(lp.bytes)).toBe(true);
      expect(lp.top_logprobs.length).toBe(3);
      const tops = lp.top_logprobs.map((t) => t.logprob);
      expect(tops).toEqual([...tops].sort((a, b) => b - a));
    }
  });

  test("an unknown model is 404 with Ollama's exact body", async () => {
    const response = await post(server.url, "/api/generate", { model: "no-such-model", prompt: "hi" });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "model 'no-such-model' not found" });
    await expect(ollama.generate({ model: "missing", prompt: "x" })).rejects.toThrow("model 'missing' not found");
  });

  test("invalid options are 400 with Ollama's message", async () => {
    const response = await post(server.url, "/api/generate", { model: TINY, prompt: "hi", options: { num_predict: "lots" } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'option "num_predict" must be of type integer' });
    const bad = await post(server.url, "/api/generate", { model: TINY, prompt: "hi", keep_alive: "5 minutes" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("time: ");
  });

  test("a bad format, images and raw-with-system are refused with a clear 400", async () => {
    // format itself works (test/routes/format.test.ts); a value that is neither "json" nor a schema does not
    const format = await post(server.url, "/api/generate", { model: TINY, prompt: "hi", format: "yaml" });
    expect(format.status).toBe(400);
    expect(((await format.json()) as { error: string }).error).toStartWith("invalid format:");
    const images = await post(server.url, "/api/generate", { model: TINY, prompt: "hi", images: ["aGk="] });
    expect(images.status).toBe(400);
    expect(await images.json()).toEqual({ error: "this model does not support image input" });
    const raw = await post(server.url, "/api/generate", { model: TINY, prompt: "hi", raw: true, system: "x" });
    expect(await raw.json()).toEqual({ error: "raw mode does not support template, system, or context" });
  });

  test("a body that is not JSON, or no body, is 400 (whatever the content type)", async () => {
    const empty = await fetch(server.url + "/api/generate", { method: "POST" });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ error: "missing request body" });
    const form = await fetch(server.url + "/api/generate", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: JSON.stringify({ model: TINY, prompt: "hi", stream: false, options: { num_predict: 1 } }),
    });
    expect(form.status).toBe(200); // curl -d sends this content type; Ollama reads the JSON anyway
  });
});

describe("POST /api/chat", () => {
  test("streams message chunks and ends with done_reason and metrics", async () => {
    let content = "";
    let last: Record<string, unknown> | undefined;
    const messages = [{ role: "system", content: "You are terse." }, { role: "user", content: "Hi there" }];
    for await (const part of await ollama.chat({ model: TINY, messages, stream: true, options: { num_predict: 7, seed: 4 } })) {
      expect(part.message.role).toBe("assistant");
      content += part.message.content;
      if (part.done) last = part as unknown as Record<string, unknown>;
    }
    expect(last).toMatchObject({ done: true, done_reason: "length", eval_count: 7 });
    for (const key of METRICS) expect(Number.isInteger(last![key])).toBe(true);
    const whole = await ollama.chat({ model: TINY, messages, stream: false, options: { num_predict: 7, seed: 4 } });
    expect(whole.message.content).toBe(content);
    expect(whole.done_reason).toBe("length");
  });

  test("a missing model name is 400 model is required; an unknown one 404", async () => {
    const missing = await post(server.url, "/api/chat", { model: "", messages: [] });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: "model is required" });
    const unknown = await post(server.url, "/api/chat", { model: "ghost", messages: [{ role: "user", content: "x" }] });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "model 'ghost' not found" });
  });
});
