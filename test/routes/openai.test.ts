// The OpenAI-compatible layer through the openai npm client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
let openai: OpenAI;
beforeAll(async () => {
  server = await startServer();
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "ollmlx" });
});
afterAll(() => server.close());

const messages = [{ role: "user" as const, content: "Say something" }];

describe("OpenAI API", () => {
  test("chat.completions non-streamed: choices, finish_reason and usage", async () => {
    const completion = await openai.chat.completions.create({ model: TINY, messages, max_tokens: 5, seed: 3 });
    expect(completion.object).toBe("chat.completion");
    expect(completion.id).toMatch(/^chatcmpl-\d+$/);
    expect(completion.system_fingerprint).toBe("fp_ollama");
    expect(completion.choices[0]!.message.role).toBe("assistant");
    expect(typeof completion.choices[0]!.message.content).toBe("string");
    expect(completion.choices[0]!.finish_reason).toBe("length");
    expect(completion.usage).toMatchObject({ completion_tokens: 5 });
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + 5);
  });

  test("chat.completions streamed over SSE gives the same text, a finish chunk and usage", async () => {
    const whole = await openai.chat.completions.create({ model: TINY, messages, max_tokens: 6, seed: 8 });
    const stream = await openai.chat.completions.create({
      model: TINY, messages, max_tokens: 6, seed: 8, stream: true, stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let first = true;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (first) expect(choice.delta.role).toBe("assistant");
      first = false;
      text += choice.delta.content ?? "";
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    expect(text).toBe(whole.choices[0]!.message.content!);
    expect(finish).toBe("length");
    expect(usage?.completion_tokens).toBe(6);
  });

  test("completions (legacy) returns text_completion", async () => {
    const completion = await openai.completions.create({ model: TINY, prompt: "Once upon", max_tokens: 4, seed: 1 });
    expect(completion.object).toBe("text_completion");
    expect(completion.choices[0]!.finish_reason).toBe("length");
    expect(completion.usage?.completion_tokens).toBe(4);
  });

  test("models.list and models.retrieve", async () => {
    const list = await openai.models.list();
    expect(list.data.map((m) => m.id)).toContain(TINY);
    expect(list.data[0]).toMatchObject({ object: "model", owned_by: "library" });
    const model = await openai.models.retrieve(TINY);
    expect(model.id).toBe(TINY);
    const missing = await openai.models.retrieve("ghost").then(() => null, (e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test("errors use OpenAI's envelope", async () => {
    const r = await post(server.url, "/v1/chat/completions", { model: "ghost", messages });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: { message: "model 'ghost' not found", type: "not_found_error", param: null, code: null } });
    const empty = await post(server.url, "/v1/chat/completions", { model: TINY, messages: [] });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { message: string } }).error.message).toBe("[] is too short - 'messages'");
    const embedding = await openai.embeddings.create({ model: TINY, input: "hi" }).then(() => null, (e: unknown) => e);
    expect(embedding).toBeInstanceOf(OpenAI.BadRequestError);
  });
});
