// A prompt longer than num_ctx, and generation that fills it, as Ollama's runner handles them: the prompt is cut to
// num_ctx keeping num_keep (or refused with `truncate: false`), and a full context shifts and goes on (or ends with
// done_reason "length" under `shift: false`). Real server, real runner.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama } from "ollama";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
let ollama: Ollama;
beforeAll(async () => {
  server = await startServer();
  ollama = new Ollama({ host: server.url });
});
afterAll(() => server.close());

const long = "the quick brown fox jumps over the lazy dog ".repeat(20); // ~180 tokens
const small = { num_ctx: 64, temperature: 0 };

describe("context window", () => {
  test("a prompt longer than num_ctx is cut to it, and generation goes on past the full context", async () => {
    const r = await ollama.generate({ model: TINY, prompt: long, raw: true, options: { ...small, num_predict: 100 } });
    expect(r.prompt_eval_count).toBe(64);
    expect(r.eval_count).toBe(100);
    expect(r.done_reason).toBe("length");
  });

  test("the same through /api/chat", async () => {
    const r = await ollama.chat({ model: TINY, messages: [{ role: "user", content: long }], options: { ...small, num_predict: 80 } });
    expect(r.prompt_eval_count).toBe(64);
    expect(r.eval_count).toBe(80);
  });

  test("a chat longer than num_ctx loses its oldest messages, keeping the system message, as Ollama's chatPrompt", async () => {
    const system = { role: "system", content: "You are terse." };
    const turns = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `turn ${i}: ${"lorem ipsum dolor ".repeat(8)}` }));
    const messages = [system, ...turns, { role: "user", content: "and now?" }];
    const options = { num_ctx: 160, temperature: 0, num_predict: 6 };
    const r = await ollama.chat({ model: TINY, messages, options });
    // The longest tail of the conversation that fits, with the system message in front: found from outside by
    // asking with truncate false (Ollama's 400 when it does not fit).
    let fits = 1;
    for (let k = 2; k < messages.length - 1; k++) {
      const body = { model: TINY, messages: [system, ...messages.slice(-k)], stream: false, truncate: false, options: { ...options, num_predict: 1 } };
      if ((await post(server.url, "/api/chat", body)).status !== 200) break;
      fits = k;
    }
    expect(fits).toBeGreaterThan(1);
    expect(fits).toBeLessThan(messages.length - 2);
    const expected = await ollama.chat({ model: TINY, messages: [system, ...messages.slice(-fits)], options });
    expect(r.prompt_eval_count).toBe(expected.prompt_eval_count);
    expect(r.prompt_eval_count).toBeLessThanOrEqual(160);
    expect(r.message.content).toBe(expected.message.content);
  });

  test("shift: false ends the generation when the context fills (done_reason length)", async () => {
    const body = { model: TINY, prompt: "hello", raw: true, stream: false, shift: false, options: { ...small, num_predict: 200 } };
    const r = (await (await post(server.url, "/api/generate", body)).json()) as Record<string, number | string>;
    expect(r.done_reason).toBe("length");
    // the prompt's tokens and all generated but the last fill the 64 positions
    expect((r.prompt_eval_count as number) + (r.eval_count as number)).toBe(65);
  });

  for (const stream of [false, true]) {
    test(`truncate: false refuses a prompt longer than num_ctx with Ollama's 400 (stream ${stream})`, async () => {
      const body = { model: TINY, prompt: long, raw: true, stream, truncate: false, options: small };
      const r = await post(server.url, "/api/generate", body);
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ error: "the input length exceeds the context length" });
    });
  }

  test("truncate: false lets a prompt that fits through", async () => {
    const body = { model: TINY, prompt: "hello", raw: true, stream: false, truncate: false, options: { ...small, num_predict: 3 } };
    const r = await post(server.url, "/api/generate", body);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { eval_count: number }).eval_count).toBe(3);
  });
});
