import { describe, expect, test } from "bun:test";
import {
  ChatCompletionStream,
  chatCompletionId,
  completionId,
  floatsToBase64,
  fromChatCompletionRequest,
  fromCompletionRequest,
  fromEmbeddingRequest,
  namespaceOf,
  toChatCompletion,
  toCompletion,
  toCompletionChunks,
  toEmbeddingList,
  toModelList,
  toolCallId,
} from "../../src/api/index.ts";
import type { ChatCompletionRequest, ChatResponse } from "../../src/schemas/index.ts";

const PNG = "iVBORw0KGgo=";
const at = "2024-07-22T20:47:51.147561Z";
const base = { model: "llama3.2", created_at: at };

describe("OpenAI chat request → /api/chat", () => {
  test("temperature and top_p default to 1.0, stream to false", () => {
    const chat = fromChatCompletionRequest({ model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(chat.options).toEqual({ temperature: 1.0, top_p: 1.0 });
    expect(chat.stream).toBe(false);
    expect(chat.messages).toEqual([{ role: "user", content: "hi" }]);
  });
  test("sampling fields map to options; max_completion_tokens when max_tokens is absent", () => {
    const chat = fromChatCompletionRequest({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 10,
      seed: 42,
      stop: "\n",
      temperature: 0.2,
      top_p: 0.5,
      frequency_penalty: 0.1,
      presence_penalty: 0.3,
    });
    expect(chat.options).toEqual({
      num_predict: 10, seed: 42, stop: ["\n"], temperature: 0.2, top_p: 0.5, frequency_penalty: 0.1, presence_penalty: 0.3,
    });
    const alt = fromChatCompletionRequest({ model: "m", messages: [{ role: "user", content: "x" }], max_completion_tokens: 7, stop: ["a", 3, "b"] });
    expect(alt.options).toMatchObject({ num_predict: 7, stop: ["a", "b"] });
  });
  test("empty messages is Ollama's 400", () => {
    expect(() => fromChatCompletionRequest({ model: "m", messages: [] })).toThrow("[] is too short - 'messages'");
  });
  test("content parts become one message each, images as base64", () => {
    const chat = fromChatCompletionRequest({
      model: "m",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: "image_url", image_url: `data:;base64,${PNG}` },
          ],
        },
      ],
    });
    expect(chat.messages).toEqual([
      { role: "user", content: "what is this?" },
      { role: "user", content: "", images: [PNG] },
      { role: "user", content: "", images: [PNG] },
    ]);
  });
  test("http image URLs and bad data URLs are refused with Ollama's messages", () => {
    const withUrl = (url: string): ChatCompletionRequest => ({
      model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
    });
    expect(() => fromChatCompletionRequest(withUrl("https://x/y.png"))).toThrow(
      "image URLs are not currently supported, please use base64 encoded data instead",
    );
    expect(() => fromChatCompletionRequest(withUrl("data:image/gif;base64,R0lG"))).toThrow("invalid image input");
    expect(() => fromChatCompletionRequest(withUrl("data:image/png;base64,!!!"))).toThrow("invalid image input");
  });
  test("unknown part types and non-string content are rejected", () => {
    expect(() =>
      fromChatCompletionRequest({ model: "m", messages: [{ role: "user", content: [{ type: "video" }] }] }),
    ).toThrow("invalid message format");
    expect(() => fromChatCompletionRequest({ model: "m", messages: [{ role: "user", content: null }] })).toThrow(
      "invalid message content type: <nil>",
    );
  });
  test("assistant tool calls get object arguments; tool results get tool_name from the call id", () => {
    const chat = fromChatCompletionRequest({
      model: "m",
      messages: [
        { role: "user", content: "weather in Paris?" },
        {
          role: "assistant",
          content: null,
          reasoning: "need the tool",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","unit":"c"}' } }],
        },
        { role: "tool", content: "22", tool_call_id: "call_1" },
      ],
    });
    expect(chat.messages![1]).toEqual({
      role: "assistant",
      content: "",
      thinking: "need the tool",
      tool_calls: [{ id: "call_1", function: { index: 0, name: "get_weather", arguments: { city: "Paris", unit: "c" } } }],
      tool_call_id: undefined,
    } as never);
    expect(Object.keys(chat.messages![1]!.tool_calls![0]!.function.arguments)).toEqual(["city", "unit"]);
    expect(chat.messages![2]).toEqual({ role: "tool", content: "22", tool_name: "get_weather", tool_call_id: "call_1" });
  });
  test("invalid tool call arguments are a 400", () => {
    expect(() =>
      fromChatCompletionRequest({
        model: "m",
        messages: [{ role: "assistant", content: "", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{oops" } }] }],
      }),
    ).toThrow("invalid tool call arguments");
  });
  test("response_format, tools, reasoning effort and logprobs", () => {
    const schema = { type: "object", properties: { age: { type: "integer" } } };
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }];
    const chat = fromChatCompletionRequest({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      response_format: { type: "json_schema", json_schema: { name: "a", schema } },
      tools,
      tool_choice: "required",
      reasoning_effort: "minimal",
      logprobs: true,
      top_logprobs: 3,
      stream: true,
    });
    expect(chat.format).toEqual(schema);
    expect(chat.tools).toEqual(tools);
    expect(chat.think).toBe("low");
    expect(chat.logprobs).toBe(true);
    expect(chat.top_logprobs).toBe(3);
    expect(chat.stream).toBe(true);
    const json = fromChatCompletionRequest({ model: "m", messages: [{ role: "user", content: "x" }], response_format: { type: " JSON_OBJECT " } });
    expect(json.format).toBe("json");
    const effort = (e: string) => fromChatCompletionRequest({ model: "m", messages: [{ role: "user", content: "x" }], reasoning: { effort: e } }).think;
    expect(effort("none")).toBe(false);
    expect(effort("xhigh")).toBe("max");
    expect(effort("high")).toBe("high");
    expect(() => effort("extreme")).toThrow('invalid reasoning value: "extreme"');
  });
});

describe("OpenAI completion and embedding requests", () => {
  test("completions always send the penalties and treat top_p 0 as 1.0", () => {
    const gen = fromCompletionRequest({ model: "m", prompt: "Once", top_p: 0, logprobs: 2, suffix: "end" });
    expect(gen.options).toEqual({ temperature: 1.0, frequency_penalty: 0, presence_penalty: 0, top_p: 1.0 });
    expect(gen).toMatchObject({ prompt: "Once", suffix: "end", logprobs: true, top_logprobs: 2, stream: false });
  });
  test("completions reject non-string stop entries", () => {
    expect(() => fromCompletionRequest({ model: "m", prompt: "x", stop: ["a", 1] })).toThrow(
      "invalid type for 'stop' field: float64",
    );
  });
  test("embeddings: \"\" embeds one empty string, [] is invalid, unknown encodings are refused", () => {
    expect(fromEmbeddingRequest({ model: "e", input: "" }).input).toEqual([""]);
    expect(() => fromEmbeddingRequest({ model: "e", input: [] })).toThrow("invalid input");
    expect(() => fromEmbeddingRequest({ model: "e", input: "x", encoding_format: "int8" })).toThrow(
      "Invalid value for 'encoding_format' = int8. Supported values: ['float', 'base64'].",
    );
  });
});

describe("native responses → OpenAI bodies", () => {
  const done: ChatResponse = {
    ...base,
    message: { role: "assistant", content: "" , tool_calls: [{ id: "call_abc12345", function: { index: 0, name: "get_weather", arguments: { city: "Paris" } } }] },
    done: true,
    done_reason: "stop",
    prompt_eval_count: 10,
    eval_count: 5,
  };
  test("a chat completion: fp_ollama, tool_calls as JSON text, finish_reason tool_calls, usage", () => {
    const c = toChatCompletion("chatcmpl-1", done);
    expect(c).toEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1721681271,
      model: "llama3.2",
      system_fingerprint: "fp_ollama",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "",
            tool_calls: [{ id: "call_abc12345", index: 0, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  });
  test("length stays length; a missing done_reason is null", () => {
    const r: ChatResponse = { ...base, message: { role: "assistant", content: "x" }, done: true, done_reason: "length" };
    expect(toChatCompletion("i", r).choices[0]!.finish_reason).toBe("length");
    expect(toChatCompletion("i", { ...r, done: false, done_reason: undefined }).choices[0]!.finish_reason).toBeNull();
  });

  test("a stream: role first, content always present, split thinking, finish chunk, usage chunk", () => {
    const s = new ChatCompletionStream("chatcmpl-7", true);
    const chunks = [
      ...s.push({ ...base, message: { role: "assistant", content: "", thinking: "hmm" }, done: false }),
      ...s.push({ ...base, created_at: "2024-07-22T20:47:59Z", message: { role: "assistant", content: "Hi", thinking: "!" }, done: false }),
      ...s.push({ ...base, message: { role: "assistant", content: "" }, done: true, done_reason: "stop", prompt_eval_count: 3, eval_count: 2 }),
    ];
    expect(chunks.map((c): unknown => c.choices[0]?.delta ?? "usage")).toEqual([
      { role: "assistant", content: "", reasoning: "hmm" },
      { reasoning: "!" },
      { content: "Hi" },
      {},
      "usage",
    ]);
    expect(new Set(chunks.map((c) => c.created))).toEqual(new Set([1721681271]));
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === "chatcmpl-7")).toBe(true);
    expect(chunks[3]!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks[0]!.choices[0]!.finish_reason).toBeNull();
    expect(chunks[4]).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
  });
  test("a streamed tool call turns the finish reason into tool_calls", () => {
    const s = new ChatCompletionStream("c");
    const chunks = [
      ...s.push({ ...base, message: { role: "assistant", content: "" }, done: false }),
      ...s.push({ ...done, done: false, done_reason: undefined }),
      ...s.push({ ...base, message: { role: "assistant", content: "" }, done: true, done_reason: "stop" }),
    ];
    expect(chunks[1]!.choices[0]!.delta.tool_calls![0]!.function.arguments).toBe('{"city":"Paris"}');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("tool_calls");
    expect(chunks).toHaveLength(3);
  });
  test("completions and their stream chunks", () => {
    const g = { ...base, response: "The end.", done: true, done_reason: "stop", prompt_eval_count: 4, eval_count: 3 };
    expect(toCompletion("cmpl-1", g)).toMatchObject({
      object: "text_completion",
      choices: [{ text: "The end.", index: 0, finish_reason: "stop" }],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
      system_fingerprint: "fp_ollama",
    });
    const chunks = toCompletionChunks("cmpl-1", g, true);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]!.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    expect(chunks[1]).toMatchObject({ choices: [], usage: { total_tokens: 7 } });
    expect(toCompletionChunks("cmpl-1", { ...g, done: false, done_reason: undefined })[0]!.usage).toBeUndefined();
  });
  test("model list: owned_by is the namespace; an empty list has data null", () => {
    const details = { parent_model: "", format: "gguf", family: "llama", families: null, parameter_size: "8B", quantization_level: "Q4_0" };
    const list = toModelList({
      models: [
        { name: "llama3.2:latest", model: "llama3.2:latest", modified_at: at, size: 1, digest: "d", details },
        { name: "hf.co/bartowski/x:Q4", model: "hf.co/bartowski/x:Q4", modified_at: at, size: 1, digest: "d", details },
      ],
    });
    expect(list.data).toEqual([
      { id: "llama3.2:latest", object: "model", created: 1721681271, owned_by: "library" },
      { id: "hf.co/bartowski/x:Q4", object: "model", created: 1721681271, owned_by: "bartowski" },
    ]);
    expect(toModelList({ models: [] })).toEqual({ object: "list", data: null });
    expect(namespaceOf("me/mine:1")).toBe("me");
  });
  test("embeddings: float lists or little-endian float32 base64", () => {
    const r = { model: "e", embeddings: [[1, -2]], prompt_eval_count: 2 };
    expect(toEmbeddingList("e", r)).toEqual({
      object: "list", data: [{ object: "embedding", embedding: [1, -2], index: 0 }], model: "e", usage: { prompt_tokens: 2, total_tokens: 2 },
    });
    expect(toEmbeddingList("e", r, "base64").data![0]!.embedding).toBe("AACAPwAAAMA=");
    expect(floatsToBase64([])).toBe("");
  });
  test("ids have Ollama's shapes", () => {
    expect(toolCallId()).toMatch(/^call_[a-z0-9]{8}$/);
    expect(chatCompletionId()).toMatch(/^chatcmpl-\d{1,3}$/);
    expect(completionId()).toMatch(/^cmpl-\d{1,3}$/);
  });
});

test("native message roles are lower-cased like api.Message.UnmarshalJSON", async () => {
  const { normalizeRoles } = await import("../../src/api/index.ts");
  expect(normalizeRoles([{ role: "User", content: "hi" }, { role: "ASSISTANT", content: "" }]).map((m) => m.role)).toEqual(["user", "assistant"]);
});
