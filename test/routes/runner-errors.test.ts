// A request the runner refuses as the client's fault comes back with its status and the route's error body, as
// Ollama passes a runner's api.StatusError through (routes.go): {"error"} natively, OpenAI's envelope on /v1. The
// trigger is a real one: a model whose TEMPLATE renders nothing, so the runner gets a prompt of no tokens.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  const created = await post(server.url, "/api/create", { model: "blank", from: TINY, template: "{{ .System }}", stream: false });
  expect(created.status).toBe(200);
});
afterAll(async () => {
  await server.close();
});

const EMPTY = "the prompt is empty after tokenization";
const messages = [{ role: "user", content: "hello" }];

describe("a runner-side bad request is a 400 with the route's error shape", () => {
  test("/api/chat, streamed or not: {\"error\"}", async () => {
    for (const stream of [false, true]) {
      const r = await post(server.url, "/api/chat", { model: "blank", messages, stream });
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ error: EMPTY });
    }
  });

  test("/api/generate: {\"error\"}", async () => {
    const r = await post(server.url, "/api/generate", { model: "blank", prompt: "hello", stream: false });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: EMPTY });
  });

  test("/v1/chat/completions, streamed or not: OpenAI's envelope, invalid_request_error", async () => {
    for (const stream of [false, true]) {
      const r = await post(server.url, "/v1/chat/completions", { model: "blank", messages, stream });
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ error: { message: EMPTY, type: "invalid_request_error", param: null, code: null } });
    }
  });

  test("truncate false over num_ctx: Ollama's 400 on /api/chat and /api/generate", async () => {
    const long = "one two three four five six seven eight nine ten ".repeat(4);
    const options = { num_ctx: 8 };
    const chat = await post(server.url, "/api/chat", { model: TINY, messages: [{ role: "user", content: long }], truncate: false, options, stream: false });
    expect(chat.status).toBe(400);
    expect(await chat.json()).toEqual({ error: "the input length exceeds the context length" });
    const generate = await post(server.url, "/api/generate", { model: TINY, prompt: long, truncate: false, options, stream: false });
    expect(generate.status).toBe(400);
    expect(await generate.json()).toEqual({ error: "the input length exceeds the context length" });
  });
});
