// The reply stream assembled from model text in arbitrary token splits: parser → Ollama chat chunks → OpenAI chunks.
// No model: the inference events are real reply strings of each family, cut at seeded random points.
import { describe, expect, test } from "bun:test";
import { ChatCompletionStream, toChatCompletion } from "../../src/api/openai.ts";
import type { ToolFormat } from "../../src/formats/tools/formats.ts";
import { THINK_TAGS } from "../../src/formats/tools/thinking.ts";
import { aggregateChat } from "../../src/routes/aggregate.ts";
import type { InferenceEvent } from "../../src/routes/inference.ts";
import { ReplyParser, chatReplyChunks, type ReplyOptions } from "../../src/routes/reply.ts";
import type { ChatCompletionChunk, ChatResponse } from "../../src/schemas/index.ts";
import { randomSplits } from "../formats/tools-fixtures/chunks.ts";

const METRICS = { total_duration: 1, load_duration: 0, prompt_eval_count: 5, prompt_eval_duration: 1, eval_count: 9, eval_duration: 1 };

async function* events(pieces: string[]): AsyncGenerator<InferenceEvent> {
  for (const text of pieces) yield { type: "delta", text };
  yield { type: "done", doneReason: "stop", metrics: METRICS };
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

function chatChunks(pieces: string[], options: ReplyOptions): AsyncGenerator<ChatResponse> {
  return chatReplyChunks(events(pieces), new ReplyParser(options), "m", () => "2026-01-01T00:00:00Z");
}

/** The reply read whole, then in 30 random splits and char by char: the aggregate must not depend on the split. */
async function readEveryWay(text: string, options: ReplyOptions): Promise<ChatResponse> {
  const whole = await aggregateChat(chatChunks([text], options));
  const withoutIds = (r: ChatResponse) => ({ ...r.message, tool_calls: r.message.tool_calls?.map((c) => c.function) });
  for (let seed = 1; seed <= 30; seed++) {
    expect(withoutIds(await aggregateChat(chatChunks(randomSplits(text, seed), options)))).toEqual(withoutIds(whole));
  }
  expect(withoutIds(await aggregateChat(chatChunks([...text], options)))).toEqual(withoutIds(whole));
  return whole;
}

const QWEN3_REPLY =
  "<think>\nThe user wants the weather in Paris. I should call get_weather.\n</think>\n\n" +
  "Let me check.\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>";

describe("native chat chunks", () => {
  test("qwen3: thinking, content and a tool call come apart whatever the token split", async () => {
    const reply = await readEveryWay(QWEN3_REPLY, { toolFormat: "hermes", thinkingTags: THINK_TAGS });
    expect(reply.message.thinking).toBe("The user wants the weather in Paris. I should call get_weather.\n");
    expect(reply.message.content).toBe("Let me check.");
    expect(reply.message.tool_calls).toHaveLength(1);
    const call = reply.message.tool_calls![0]!;
    expect(call.id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(call.function).toEqual({ index: 0, name: "get_weather", arguments: { city: "Paris", unit: "celsius" } });
    expect(reply.done_reason).toBe("stop");
  });

  test("a tool call is only ever emitted whole, in a chunk of its own arriving once its closing tag is read", async () => {
    const pieces = randomSplits(QWEN3_REPLY, 7);
    const chunks = await collect(chatChunks(pieces, { toolFormat: "hermes", thinkingTags: THINK_TAGS }));
    const withCalls = chunks.filter((c) => c.message.tool_calls);
    expect(withCalls).toHaveLength(1);
    expect(withCalls[0]!.message.tool_calls![0]!.function.arguments).toEqual({ city: "Paris", unit: "celsius" });
    // No chunk leaks any part of the call's markup as content or thinking.
    for (const c of chunks) expect(c.message.content + (c.message.thinking ?? "")).not.toContain("tool_call");
    // Thinking streams before the call completes: it is not held until the end.
    expect(chunks.findIndex((c) => c.message.thinking)).toBeLessThan(chunks.indexOf(withCalls[0]!));
    const last = chunks.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.message).toEqual({ role: "assistant", content: "" });
  });

  test("without tools offered, a <tool_call> in the text is plain content", async () => {
    const reply = await readEveryWay(QWEN3_REPLY, { thinkingTags: THINK_TAGS });
    expect(reply.message.content).toContain("<tool_call>");
    expect(reply.message.tool_calls).toBeUndefined();
  });

  test("a prompt that opened the thought: the reply starts inside it", async () => {
    const reply = await readEveryWay("Paris is in France.\n</think>\n\nParis.", { thinkingTags: THINK_TAGS, startInThinking: true });
    expect(reply.message).toEqual({ role: "assistant", content: "Paris.", thinking: "Paris is in France.\n" });
  });

  test("other families' thinking tags: Magistral [THINK] with a [TOOL_CALLS] call, Gemma 4's thought channel", async () => {
    const magistral = await readEveryWay(
      '[THINK]Need the weather tool.[/THINK]Checking.[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}',
      { toolFormat: "mistral", thinkingTags: { open: "[THINK]", close: "[/THINK]" } },
    );
    expect(magistral.message.thinking).toBe("Need the weather tool.");
    expect(magistral.message.content).toBe("Checking.");
    expect(magistral.message.tool_calls?.map((c) => c.function)).toEqual([{ index: 0, name: "get_weather", arguments: { city: "Paris" } }]);
    const gemma = await readEveryWay("<|channel>thought\nShort answer.<channel|>Paris.", {
      thinkingTags: { open: "<|channel>thought", close: "<channel|>" },
    });
    expect(gemma.message).toEqual({ role: "assistant", content: "Paris.", thinking: "Short answer." });
  });

  test("an unterminated thought (random weights, or cut by num_predict) stays thinking", async () => {
    const reply = await readEveryWay("<think>\nhmm, maybe", { thinkingTags: THINK_TAGS });
    expect(reply.message).toEqual({ role: "assistant", content: "", thinking: "hmm, maybe" });
  });

  test("a call with invalid JSON is released as content, not dropped", async () => {
    const text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {oops}\n</tool_call>";
    const reply = await readEveryWay(text, { toolFormat: "hermes" });
    expect(reply.message.content).toBe(text);
    expect(reply.message.tool_calls).toBeUndefined();
  });

  const families: [ToolFormat, string, { content: string; calls: [string, Record<string, unknown>][] }][] = [
    ["llama3", '{"name": "get_weather", "parameters": {"city": "San Francisco, CA"}}', { content: "", calls: [["get_weather", { city: "San Francisco, CA" }]] }],
    [
      "mistral",
      'Checking both.[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]get_time[ARGS]{"tz": "CET"}',
      { content: "Checking both.", calls: [["get_weather", { city: "Paris" }], ["get_time", { tz: "CET" }]] },
    ],
    [
      "qwen3_coder",
      "Let me look.\n<tool_call>\n<function=read_file>\n<parameter=path>\nsrc/index.ts\n</parameter>\n</function>\n</tool_call>",
      { content: "Let me look.", calls: [["read_file", { path: "src/index.ts" }]] },
    ],
    [
      "gemma4",
      'Looking it up.<|tool_call>call:get_weather{city:<|"|>Paris, FR<|"|>,days:3}<tool_call|>',
      { content: "Looking it up.", calls: [["get_weather", { city: "Paris, FR", days: 3 }]] },
    ],
    [
      "pythonic",
      'Sure.<|tool_call_start|>[get_weather(city="Paris"), get_time(tz=\'CET\')]<|tool_call_end|>',
      { content: "Sure.", calls: [["get_weather", { city: "Paris" }], ["get_time", { tz: "CET" }]] },
    ],
  ];
  for (const [format, text, want] of families) {
    test(`${format}: calls indexed in order with distinct call_ ids`, async () => {
      const reply = await readEveryWay(text, { toolFormat: format });
      expect(reply.message.content).toBe(want.content);
      const calls = reply.message.tool_calls ?? [];
      expect(calls.map((c) => [c.function.name, c.function.arguments])).toEqual(want.calls);
      expect(calls.map((c) => c.function.index)).toEqual(want.calls.map((_, i) => i));
      expect(new Set(calls.map((c) => c.id)).size).toBe(calls.length);
    });
  }

  test("logprobs of tokens held back ride on the next chunk that goes out, none lost", async () => {
    const lp = (token: string) => ({ token, logprob: -0.5, bytes: [...new TextEncoder().encode(token)] });
    async function* withLogprobs(): AsyncGenerator<InferenceEvent> {
      for (const text of ["<th", "ink>", "x", "</think>", "Hi"]) yield { type: "delta", text, logprobs: [lp(text)] };
      yield { type: "done", doneReason: "stop", metrics: METRICS };
    }
    const chunks = await collect(chatReplyChunks(withLogprobs(), new ReplyParser({ thinkingTags: THINK_TAGS }), "m", () => "t"));
    expect(chunks.flatMap((c) => c.logprobs ?? []).map((l) => l.token)).toEqual(["<th", "ink>", "x", "</think>", "Hi"]);
    expect(chunks.filter((c) => !c.done).every((c) => c.message.content !== "" || c.message.thinking || c.logprobs)).toBe(true);
  });
});

describe("OpenAI chunks", () => {
  async function openAIChunks(pieces: string[], options: ReplyOptions): Promise<ChatCompletionChunk[]> {
    const stream = new ChatCompletionStream("chatcmpl-1");
    return (await collect(chatChunks(pieces, options))).flatMap((c) => stream.push(c));
  }

  test("streamed: reasoning deltas, content, one tool_calls delta with JSON-string arguments, finish_reason tool_calls", async () => {
    const chunks = await openAIChunks(randomSplits(QWEN3_REPLY, 3), { toolFormat: "hermes", thinkingTags: THINK_TAGS });
    const deltas = chunks.map((c) => c.choices[0]?.delta);
    expect(deltas[0]?.role).toBe("assistant");
    expect(deltas.map((d) => d?.reasoning ?? "").join("")).toBe("The user wants the weather in Paris. I should call get_weather.\n");
    expect(deltas.map((d) => d?.content ?? "").join("")).toBe("Let me check.");
    const calls = deltas.flatMap((d) => d?.tool_calls ?? []);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ index: 0, type: "function", function: { name: "get_weather" } });
    expect(calls[0]!.id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(JSON.parse(calls[0]!.function.arguments)).toEqual({ city: "Paris", unit: "celsius" });
    expect(chunks.at(-1)!.choices[0]).toEqual({ index: 0, delta: {}, finish_reason: "tool_calls" });
  });

  test("not streamed: message.tool_calls, reasoning, finish_reason tool_calls", async () => {
    const native = await aggregateChat(chatChunks(randomSplits(QWEN3_REPLY, 11), { toolFormat: "hermes", thinkingTags: THINK_TAGS }));
    const completion = toChatCompletion("chatcmpl-1", native);
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBe("Let me check.");
    expect(choice.message.reasoning).toBe("The user wants the weather in Paris. I should call get_weather.\n");
    expect(JSON.parse(choice.message.tool_calls![0]!.function.arguments)).toEqual({ city: "Paris", unit: "celsius" });
  });
});
