// Anthropic Messages (/v1/messages, /v1/messages/count_tokens) through the official @anthropic-ai/sdk against a real
// server and real MLX runners (the tiny random-weight Qwen3). Random weights never call a tool by themselves, so the
// round trip forces the call with tool_choice (constrained decoding).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic, { BadRequestError, NotFoundError } from "@anthropic-ai/sdk";
import { importPlainModel, importThinkingOpenModel } from "./fixtures/tiny-variants.ts";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
let anthropic: Anthropic;
beforeAll(async () => {
  server = await startServer();
  await importThinkingOpenModel(server.store, "opener:latest");
  await importPlainModel(server.store, "plain:latest");
  anthropic = new Anthropic({ baseURL: server.url, apiKey: "ollmlx", maxRetries: 0 });
});
afterAll(() => server.close());

const USER: Anthropic.MessageParam = { role: "user", content: "What is the weather in Paris?" };
const WEATHER: Anthropic.Tool = {
  name: "get_weather",
  description: "Current weather in a city",
  // Enums keep a forced call short: random weights would otherwise write a string that never closes.
  input_schema: {
    type: "object",
    properties: { city: { type: "string", enum: ["Paris", "London", "Tokyo"] }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
    required: ["city", "unit"],
  },
};

// Anthropic's current SDK types no longer list the sampling fields; the API (and this server) still takes them.
const GREEDY = { temperature: 0 };

function textOf(message: Anthropic.Message): string {
  return message.content.map((block) => (block.type === "text" ? block.text : "")).join("");
}

describe("Anthropic Messages", () => {
  test("messages.create: a text block, stop_reason max_tokens, usage", async () => {
    const message = await anthropic.messages.create({ model: TINY, max_tokens: 5, ...GREEDY, system: "Be brief.", messages: [USER] });
    expect(message.id).toMatch(/^msg_[0-9A-Za-z]{24}$/);
    expect(message).toMatchObject({ type: "message", role: "assistant", model: TINY, stop_reason: "max_tokens", stop_sequence: null });
    expect(message.content.map((b) => b.type)).toEqual(["text"]);
    expect(message.usage.output_tokens).toBe(5);
    expect(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0)).toBeGreaterThan(0);
  });

  test("stop_sequences: the text before it, stop_reason stop_sequence naming it, streamed and not", async () => {
    const free = textOf(await anthropic.messages.create({ model: TINY, max_tokens: 16, ...GREEDY, messages: [USER] }));
    const stop = free.slice(6, 9);
    expect(stop.length).toBe(3);
    const request = { model: TINY, max_tokens: 16, ...GREEDY, messages: [USER], stop_sequences: ["never in this text \u0000", stop] };
    const message = await anthropic.messages.create(request);
    expect({ text: textOf(message), stop_reason: message.stop_reason, stop_sequence: message.stop_sequence }).toEqual({
      text: free.slice(0, free.indexOf(stop)),
      stop_reason: "stop_sequence",
      stop_sequence: stop,
    });
    const final = await anthropic.messages.stream(request).finalMessage();
    expect({ stop_reason: final.stop_reason, stop_sequence: final.stop_sequence }).toEqual({ stop_reason: "stop_sequence", stop_sequence: stop });
  });

  test("messages.stream: Anthropic's event sequence, and the final message is the non-streamed one", async () => {
    const request = { model: TINY, max_tokens: 6, ...GREEDY, messages: [USER] };
    const whole = await anthropic.messages.create(request);
    const stream = anthropic.messages.stream(request);
    const types: string[] = [];
    let streamedText = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") streamedText += event.delta.text;
    }
    const final = await stream.finalMessage();
    expect(types.slice(0, 2)).toEqual(["message_start", "content_block_start"]); // the SDK does not hand out pings
    expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    // on the wire: each event named after its type, a ping after message_start, no [DONE]
    const raw = await (await post(server.url, "/v1/messages", { ...request, stream: true })).text();
    const frames = raw.trimEnd().split("\n\n").map((frame) => {
      const [event, data] = frame.split("\n");
      const payload = JSON.parse(data!.slice("data: ".length)) as { type: string };
      expect(event).toBe(`event: ${payload.type}`);
      return payload.type;
    });
    expect(frames.slice(0, 3)).toEqual(["message_start", "ping", "content_block_start"]);
    expect(frames.at(-1)).toBe("message_stop");
    expect(streamedText).toBe(textOf(whole));
    expect(textOf(final)).toBe(textOf(whole));
    expect(final.stop_reason).toBe("max_tokens");
    expect(final.usage.output_tokens).toBe(6);
    expect(final.usage.input_tokens + (final.usage.cache_read_input_tokens ?? 0)).toBe(
      whole.usage.input_tokens + (whole.usage.cache_read_input_tokens ?? 0),
    );
  });

  test("count_tokens equals the prompt tokens a create reads", async () => {
    const prompt = { model: TINY, system: "You count.", messages: [USER, { role: "assistant" as const, content: "Let me see." }, { role: "user" as const, content: "Well?" }] };
    const counted = await anthropic.messages.countTokens(prompt);
    const message = await anthropic.messages.create({ ...prompt, max_tokens: 1 });
    expect(counted.input_tokens).toBe(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0));
    const longer = await anthropic.messages.countTokens({ ...prompt, tools: [WEATHER] });
    expect(longer.input_tokens).toBeGreaterThan(counted.input_tokens);
  });

  test("a tool round trip: tool_choice tool → tool_use (streamed as input_json_delta), tool_result → an answer", async () => {
    const request = { model: TINY, max_tokens: 64, ...GREEDY, tools: [WEATHER], tool_choice: { type: "tool" as const, name: "get_weather" } };
    const first = await anthropic.messages.create({ ...request, messages: [USER] });
    expect(first.stop_reason).toBe("tool_use");
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(use.name).toBe("get_weather");
    expect(["Paris", "London", "Tokyo"]).toContain((use.input as { city: string }).city);
    expect(use.id).toMatch(/^call_/);

    const stream = anthropic.messages.stream({ ...request, tool_choice: { type: "any" }, messages: [USER] });
    const deltas: string[] = [];
    stream.on("inputJson", (partial) => deltas.push(partial));
    const streamed = await stream.finalMessage();
    expect(streamed.stop_reason).toBe("tool_use");
    const streamedUse = streamed.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(JSON.parse(deltas.join(""))).toEqual(streamedUse.input);

    const answer = await anthropic.messages.create({
      ...request,
      tool_choice: { type: "auto" },
      max_tokens: 8,
      messages: [USER, { role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "18 degrees and sunny" }] }],
    });
    expect(answer.role).toBe("assistant");
    expect(answer.usage.output_tokens).toBeGreaterThan(0);
  });

  test("thinking enabled on a model whose prompt opens a thought: a thinking block, streamed as thinking_delta", async () => {
    const request = { model: "opener", max_tokens: 5, ...GREEDY, thinking: { type: "enabled" as const, budget_tokens: 1024 }, messages: [USER] };
    const message = await anthropic.messages.create(request);
    expect(message.content[0]!.type).toBe("thinking");
    const kinds: string[] = [];
    const stream = anthropic.messages.stream(request);
    for await (const event of stream) if (event.type === "content_block_delta") kinds.push(event.delta.type);
    expect(kinds).toContain("thinking_delta");
    expect((await stream.finalMessage()).content[0] as unknown).toEqual(message.content[0]);
  });

  test("thinking.budget_tokens: the engine closes the thought at that many tokens and the answer follows", async () => {
    const base = { model: "opener", max_tokens: 40, ...GREEDY, messages: [USER] };
    // random weights never close a thought of their own within 40 tokens
    const free = await anthropic.messages.create({ ...base, thinking: { type: "enabled", budget_tokens: 1024 } });
    expect(free.content.map((b) => b.type)).toEqual(["thinking"]);
    const bounded = await anthropic.messages.create({ ...base, thinking: { type: "enabled", budget_tokens: 6 } });
    expect(bounded.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    const thought = (bounded.content[0] as Anthropic.ThinkingBlock).thinking;
    expect((free.content[0] as Anthropic.ThinkingBlock).thinking.startsWith(thought.trimEnd())).toBe(true); // the same thought, cut
    expect(bounded.usage.output_tokens).toBe(40);
  });

  test("output_config.format: the text is JSON that matches the schema (constrained decoding)", async () => {
    const schema = { type: "object", properties: { answer: { type: "string", enum: ["yes", "no"] } }, required: ["answer"], additionalProperties: false };
    const message = await anthropic.messages.create({ model: TINY, max_tokens: 32, ...GREEDY, messages: [USER], output_config: { format: { type: "json_schema", schema } } });
    expect(message.stop_reason).toBe("end_turn");
    expect(["yes", "no"]).toContain((JSON.parse(textOf(message)) as { answer: string }).answer);
  });

  test("errors come in Anthropic's envelope: unknown model 404, bad bodies 400, image blocks 400", async () => {
    const missing = await anthropic.messages.create({ model: "ghost", max_tokens: 5, messages: [USER] }).then(() => null, (e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).error).toEqual({ type: "error", error: { type: "not_found_error", message: "model 'ghost' not found" } });

    const noMax = await post(server.url, "/v1/messages", { model: TINY, messages: [USER] });
    expect(noMax.status).toBe(400);
    const noMaxBody = (await noMax.json()) as { type: string; error: { type: string; message: string } };
    expect(noMaxBody.type).toBe("error");
    expect(noMaxBody.error.type).toBe("invalid_request_error");
    expect(noMaxBody.error.message).toContain("max_tokens");

    const notJson = await fetch(`${server.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");

    const image = await anthropic.messages
      .create({
        model: TINY,
        max_tokens: 5,
        messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }] }],
      })
      .then(() => null, (e: unknown) => e);
    expect(image).toBeInstanceOf(BadRequestError);
    expect((image as BadRequestError).message).toContain("image content blocks are not supported yet");

    const streamed = await post(server.url, "/v1/messages", { model: "ghost", max_tokens: 5, stream: true, messages: [USER] });
    expect(streamed.status).toBe(404);
    expect(((await streamed.json()) as { error: { type: string } }).error.type).toBe("not_found_error");
    // a failure found after scheduling still comes before the first event, so it keeps its status too
    const noTools = await post(server.url, "/v1/messages", { model: "plain", max_tokens: 5, stream: true, tools: [WEATHER], messages: [USER] });
    expect(noTools.status).toBe(400);
    expect(await noTools.json()).toEqual({ type: "error", error: { type: "invalid_request_error", message: "plain:latest does not support tools" } });
  });

  test("a client that disconnects mid-stream stops its generation: the next request gets the runner promptly", async () => {
    // One request at a time, so the next one only runs once the abandoned 100k-token generation was cancelled.
    const single = await startServer({ numParallel: 1 });
    try {
      const client = new Anthropic({ baseURL: single.url, apiKey: "ollmlx", maxRetries: 0 });
      const abort = new AbortController();
      const stream = client.messages.stream({ model: TINY, max_tokens: 100_000, messages: [USER] }, { signal: abort.signal });
      await new Promise<void>((resolve) => stream.on("text", () => resolve()));
      abort.abort();
      await stream.done().catch(() => {});
      const t0 = performance.now();
      const next = await client.messages.create({ model: TINY, max_tokens: 3, messages: [USER] });
      expect(next.usage.output_tokens).toBe(3);
      expect(performance.now() - t0).toBeLessThan(5_000);
    } finally {
      await single.close();
    }
  });
});
