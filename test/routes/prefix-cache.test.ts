// The prefix cache as clients see it: a chat's next turn, a resent prompt and /api/generate's context reuse the
// runner's KV state; the reuse is reported (prompt_eval_cached_count, usage.prompt_tokens_details.cached_tokens)
// and changes no token. Real server, real runner.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
let ollama: Ollama;
beforeAll(async () => {
  server = await startServer();
  ollama = new Ollama({ host: server.url });
});
afterAll(() => server.close());

const greedy = { temperature: 0, num_predict: 8 };
const history = "You are a helpful assistant that answers questions about the weather in great detail. ".repeat(6);

describe("prefix cache through the API", () => {
  test("a chat's second turn reads its history from the cache and answers as a cold server would", async () => {
    const first = [{ role: "system", content: history }, { role: "user", content: "Is it raining?" }];
    const turn1 = await ollama.chat({ model: TINY, messages: first, options: greedy });
    expect(turn1.prompt_eval_count).toBeGreaterThan(100);
    expect((turn1 as { prompt_eval_cached_count?: number }).prompt_eval_cached_count).toBeUndefined(); // nothing to reuse yet

    const second = [...first, turn1.message, { role: "user", content: "And tomorrow?" }];
    const turn2 = await ollama.chat({ model: TINY, messages: second, options: greedy });
    const cached = (turn2 as { prompt_eval_cached_count?: number }).prompt_eval_cached_count!;
    // The whole first prompt at least (the reply's tokens too, where the template renders them the same way).
    expect(cached).toBeGreaterThanOrEqual(turn1.prompt_eval_count - 1);
    expect(cached).toBeLessThan(turn2.prompt_eval_count);

    // The same turn on a server that never saw turn 1.
    const cold = await startServer();
    try {
      const coldTurn2 = await new Ollama({ host: cold.url }).chat({ model: TINY, messages: second, options: greedy });
      expect((coldTurn2 as { prompt_eval_cached_count?: number }).prompt_eval_cached_count).toBeUndefined();
      expect(coldTurn2.prompt_eval_count).toBe(turn2.prompt_eval_count);
      expect(turn2.message.content).toBe(coldTurn2.message.content);
      expect(turn2.eval_count).toBe(coldTurn2.eval_count);
    } finally {
      await cold.close();
    }
  });

  test("/api/generate with the previous context continues from the cache", async () => {
    const a = await ollama.generate({ model: TINY, prompt: `Generate. ${history} Once upon a time`, options: greedy });
    const b = await ollama.generate({ model: TINY, prompt: " and then", context: a.context, options: greedy });
    const cached = (b as { prompt_eval_cached_count?: number }).prompt_eval_cached_count!;
    // As Ollama, the context is detokenized and tokenized again in front of the new prompt: the prompt's tokens
    // come back the same (the last one may merge with what follows); a random-weight model's generated tokens need not.
    expect(cached).toBeGreaterThanOrEqual(a.prompt_eval_count - 1);
    expect(cached).toBeLessThan(b.prompt_eval_count);
  });

  test("/v1/chat/completions reports usage.prompt_tokens_details.cached_tokens, streamed and not", async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "ollmlx" });
    const messages = [{ role: "system" as const, content: `Version one. ${history}` }, { role: "user" as const, content: "Hello" }];
    const first = await openai.chat.completions.create({ model: TINY, messages, max_tokens: 4, temperature: 0 });
    // At most the template's opening, which the earlier tests' prompts share.
    expect(first.usage!.prompt_tokens_details?.cached_tokens ?? 0).toBeLessThan(8);
    const again = await openai.chat.completions.create({ model: TINY, messages, max_tokens: 4, temperature: 0 });
    // All of the prompt but its last token, which is evaluated again for the next token's logits.
    expect(again.usage!.prompt_tokens_details!.cached_tokens).toBe(again.usage!.prompt_tokens - 1);
    expect(again.choices[0]!.message.content).toBe(first.choices[0]!.message.content);

    const stream = await openai.chat.completions.create({
      model: TINY, messages, max_tokens: 4, temperature: 0, stream: true, stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage!.prompt_tokens_details!.cached_tokens).toBe(usage!.prompt_tokens - 1);
  });

  test("a raw native response carries prompt_eval_cached_count only when the cache was read", async () => {
    const body = { model: TINY, prompt: `Raw. ${history}`, raw: true, stream: false, options: greedy };
    const cold = (await (await post(server.url, "/api/generate", body)).json()) as Record<string, unknown>;
    expect(cold).not.toHaveProperty("prompt_eval_cached_count");
    const warm = (await (await post(server.url, "/api/generate", body)).json()) as Record<string, number>;
    expect(warm.prompt_eval_cached_count).toBe(warm.prompt_eval_count! - 1);
    expect(warm.response).toBe(cold.response as never);
  });
});
