// Tools on /api/chat and /v1/chat/completions against a real server and real MLX runners (the tiny random-weight
// Qwen3, whose template is Qwen3's). Random weights never call a tool by themselves, so the round trip forces the
// call with tool_choice (constrained decoding); the parsing of real replies is in reply-stream.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama, type ChatRequest, type Message } from "ollama";
import OpenAI from "openai";
import { forcedCallConstraint } from "../../src/routes/tool-choice.ts";
import type { Tool } from "../../src/schemas/index.ts";
import { HERMES_TEMPLATE } from "../../scripts/hermes-template.ts";
import { runOracle } from "../oracle.ts";
import { tinyQwen3Dir } from "./fixtures/tiny-model.ts";
import { importPlainModel, importThinkingOpenModel } from "./fixtures/tiny-variants.ts";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
let ollama: Ollama;
let openai: OpenAI;
beforeAll(async () => {
  server = await startServer();
  await importPlainModel(server.store, "plain:latest");
  await importThinkingOpenModel(server.store, "opener:latest");
  ollama = new Ollama({ host: server.url });
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "ollmlx" });
});
afterAll(() => server.close());

const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: {
      type: "object",
      // Enums keep a forced call short: random weights would otherwise write a string that never closes.
      properties: {
        city: { type: "string", description: "the city", enum: ["Paris", "London", "Tokyo"] },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
      },
      required: ["city", "unit"],
    },
  },
};
const TIME = {
  type: "function",
  function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string", enum: ["CET", "UTC"] } }, required: ["tz"] } },
};
const USER = { role: "user", content: "What is the weather in Paris?" };
const OPTIONS = { num_predict: 64, seed: 1, temperature: 0 };

async function chat(body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await post(server.url, "/api/chat", { model: TINY, stream: false, options: OPTIONS, ...body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function v1(body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await post(server.url, "/v1/chat/completions", { model: TINY, max_tokens: 64, seed: 1, temperature: 0, ...body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("the constraint that forces a call", () => {
  test("hermes/qwen3: <tool_call> JSON </tool_call>, the schema one {name, arguments} per allowed tool", () => {
    const constraint = forcedCallConstraint("hermes", [WEATHER, TIME] as Tool[]);
    expect(constraint).toEqual({
      kind: "tool_call",
      prefix: "<tool_call>\n",
      suffix: "\n</tool_call>",
      schema: {
        anyOf: [
          {
            type: "object",
            properties: { name: { const: "get_weather" }, arguments: WEATHER.function.parameters },
            required: ["name", "arguments"],
            additionalProperties: false,
          },
          {
            type: "object",
            properties: { name: { const: "get_time" }, arguments: TIME.function.parameters },
            required: ["name", "arguments"],
            additionalProperties: false,
          },
        ],
      },
    });
  });

  test("a prompt that opened a thought is closed first; llama3 calls carry parameters; mistral a one-call list", () => {
    expect(forcedCallConstraint("hermes", [TIME] as Tool[], "</think>\n\n")).toMatchObject({ prefix: "</think>\n\n<tool_call>\n" });
    const llama = forcedCallConstraint("llama3", [TIME] as Tool[]);
    expect(llama).toMatchObject({ prefix: "", suffix: "", schema: { anyOf: [{ required: ["name", "parameters"] }] } });
    expect(forcedCallConstraint("mistral", [TIME] as Tool[])).toMatchObject({ prefix: "[TOOL_CALLS][", suffix: "]" });
  });

  test("syntaxes that are not JSON cannot be forced: a clear 400", () => {
    for (const format of ["qwen3_coder", "gemma4", "function_gemma", "pythonic"] as const) {
      expect(() => forcedCallConstraint(format, [TIME] as Tool[])).toThrow(`its tool calls (${format} syntax) are not JSON`);
    }
  });
});

describe("bad tool requests are 400s", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "parameters that are not an object schema",
      { tools: [{ type: "function", function: { name: "f", parameters: { type: "string" } } }] },
      'invalid tool "f": parameters must be a JSON schema of type "object", got type "string"',
    ],
    [
      "a tool message answering a call nobody made",
      {
        messages: [USER, { role: "assistant", content: "", tool_calls: [{ id: "call_aaaaaaaa", function: { name: "get_weather", arguments: { city: "Paris" } } }] }, { role: "tool", content: "18C", tool_call_id: "call_zzzzzzzz" }],
        tools: [WEATHER],
      },
      'tool message refers to unknown tool_call_id "call_zzzzzzzz": no earlier assistant message made that call',
    ],
    [
      "tool_choice naming a function that is not offered",
      { tools: [WEATHER], tool_choice: { type: "function", function: { name: "launch_rocket" } } },
      'tool_choice names function "launch_rocket", which is not among the request\'s tools',
    ],
    [
      "forcing a tool whose schema the engine cannot enforce",
      {
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { x: { anyOf: [{ not: { type: "null" } }] } } } } }],
        tool_choice: "required",
      },
      'tool_choice cannot force "f": its parameters schema is not supported: #/properties/x/anyOf/0: "not" is not supported in format schemas',
    ],
    ["tool_choice required without tools", { tool_choice: "required" }, 'tool_choice is "required" but the request has no tools'],
    [
      "a tool_choice that is none of the accepted forms",
      { tools: [WEATHER], tool_choice: "sometimes" },
      'tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": "..."}}',
    ],
  ];
  for (const [what, body, message] of cases) {
    test(`${what}: {"error"} natively, OpenAI's envelope on /v1`, async () => {
      const native = await chat({ messages: [USER], ...body });
      expect(native).toEqual({ status: 400, body: { error: message } });
      const openaiBody = { messages: [USER], ...body } as Record<string, unknown>;
      // /v1 carries tool-call arguments as JSON text
      openaiBody.messages = (openaiBody.messages as Record<string, unknown>[]).map((m) =>
        m.tool_calls
          ? { ...m, tool_calls: (m.tool_calls as { id: string; function: { name: string; arguments: unknown } }[]).map((c) => ({ id: c.id, type: "function", function: { name: c.function.name, arguments: JSON.stringify(c.function.arguments) } })) }
          : m,
      );
      const compat = await v1(openaiBody);
      expect(compat.status).toBe(400);
      expect(compat.body).toEqual({ error: { message, type: "invalid_request_error", param: null, code: null } });
    });
  }

  test("tools for a model whose template takes none: Ollama's capability error", async () => {
    expect(await chat({ model: "plain", messages: [USER], tools: [WEATHER] })).toEqual({
      status: 400,
      body: { error: "plain:latest does not support tools" },
    });
  });

  test("the same model created with a TEMPLATE that uses .Tools gains tools: show lists it, a call parses", async () => {
    const created = await post(server.url, "/api/create", { model: "plain-tools", from: "plain", template: HERMES_TEMPLATE, stream: false });
    expect(created.status).toBe(200);
    const show = (await (await post(server.url, "/api/show", { model: "plain-tools" })).json()) as { capabilities: string[] };
    expect(show.capabilities).toEqual(["completion", "tools"]);
    const { status, body } = await chat({ model: "plain-tools", messages: [USER], tools: [WEATHER], tool_choice: "required" });
    expect(status).toBe(200);
    const calls = (body.message as { tool_calls?: { function: { name: string } }[] }).tool_calls ?? [];
    expect(calls.map((c) => c.function.name)).toEqual(["get_weather"]);
  });
});

describe("tools through the template", () => {
  /** transformers' rendering of the same conversation, tokenized: what prompt_eval_count must be. */
  function oracleTokens(messages: unknown[], tools: unknown[] | null): number {
    const code = `
import json, sys
from transformers import AutoTokenizer
req = json.load(sys.stdin)
tok = AutoTokenizer.from_pretrained(req["dir"])
text = tok.apply_chat_template(req["messages"], tools=req["tools"], tokenize=False, add_generation_prompt=True, enable_thinking=True)
print(json.dumps(len(tok.encode(text, add_special_tokens=False))))`;
    return runOracle<number>(code, { dir: tinyQwen3Dir(), messages, tools });
  }

  test("an assistant tool call (arguments as an object) and the tool's result render as transformers renders them", async () => {
    const call = { id: "call_abcd1234", function: { name: "get_weather", arguments: { city: "Paris", unit: "celsius" } } };
    const messages = [USER, { role: "assistant", content: "", tool_calls: [call] }, { role: "tool", content: "18 degrees", tool_name: "get_weather", tool_call_id: call.id }];
    const { status, body } = await chat({ messages, tools: [WEATHER], options: { ...OPTIONS, num_predict: 1 } });
    expect(status).toBe(200);
    const hf = [
      USER,
      { role: "assistant", content: "", tool_calls: [{ id: call.id, type: "function", function: call.function }] },
      { role: "tool", content: "18 degrees", tool_call_id: call.id },
    ];
    expect(body.prompt_eval_count).toBe(oracleTokens(hf, [WEATHER]));
  });

  test('tool_choice "none" keeps the tools out of the prompt; "auto" puts them in', async () => {
    const count = async (extra: Record<string, unknown>) =>
      (await chat({ messages: [USER], options: { ...OPTIONS, num_predict: 1 }, ...extra })).body.prompt_eval_count;
    const bare = await count({});
    expect(await count({ tools: [WEATHER], tool_choice: "none" })).toBe(bare);
    expect(await count({ tools: [WEATHER], tool_choice: "auto" })).toBe(oracleTokens([USER], [WEATHER]));
    expect(await count({ tools: [WEATHER] })).toBeGreaterThan(bare as number);
  });
});

describe("a forced tool call, round trip (tool_choice through constrained decoding)", () => {
  function checkWeatherCall(name: string, args: unknown): void {
    expect(name).toBe("get_weather");
    const a = args as { city: unknown; unit: unknown };
    expect(["Paris", "London", "Tokyo"]).toContain(a.city as string);
    expect(["celsius", "fahrenheit"]).toContain(a.unit as string);
  }

  test("ollama client: required → tool_calls with call_ ids, tool result → a final answer", async () => {
    const request = { model: TINY, messages: [USER as Message], tools: [WEATHER], tool_choice: "required", options: OPTIONS };
    const first = await ollama.chat({ ...request, stream: false } as ChatRequest & { stream: false });
    const calls = first.message.tool_calls ?? [];
    expect(calls).toHaveLength(1);
    expect((calls[0] as { id?: string }).id).toMatch(/^call_[a-z0-9]{8}$/);
    checkWeatherCall(calls[0]!.function.name, calls[0]!.function.arguments);
    expect(first.done_reason).toBe("stop");

    let streamedCalls = 0;
    for await (const part of await ollama.chat({ ...request, stream: true } as ChatRequest & { stream: true })) {
      for (const c of part.message.tool_calls ?? []) {
        streamedCalls++;
        checkWeatherCall(c.function.name, c.function.arguments);
      }
    }
    expect(streamedCalls).toBe(1);

    const followUp = [USER as Message, first.message, { role: "tool", content: "18 degrees and sunny", tool_name: "get_weather" } as Message];
    const answer = await ollama.chat({ model: TINY, messages: followUp, tools: [WEATHER], stream: false, options: { ...OPTIONS, num_predict: 8 } });
    expect(answer.done).toBe(true);
    expect(answer.message.role).toBe("assistant");
  });

  test("a named function is the one called, among several tools", async () => {
    const { status, body } = await chat({ messages: [USER], tools: [WEATHER, TIME], tool_choice: { type: "function", function: { name: "get_time" } } });
    expect(status).toBe(200);
    const calls = (body.message as { tool_calls?: { function: { name: string; arguments: { tz?: unknown } } }[] }).tool_calls ?? [];
    expect(calls.map((c) => c.function.name)).toEqual(["get_time"]);
    expect(["CET", "UTC"]).toContain(calls[0]!.function.arguments.tz as string);
  });

  test("think:true on a prompt that opened a thought: the thought is closed empty and the call lands in tool_calls", async () => {
    const { status, body } = await chat({ model: "opener", messages: [USER], tools: [WEATHER], tool_choice: "required", think: true });
    expect(status).toBe(200);
    const message = body.message as { content: string; thinking?: string; tool_calls?: { function: { name: string; arguments: unknown } }[] };
    expect(message.thinking).toBeUndefined();
    expect(message.content).toBe("");
    expect(message.tool_calls).toHaveLength(1);
    checkWeatherCall(message.tool_calls![0]!.function.name, message.tool_calls![0]!.function.arguments);
  });

  test("a forced call leaves thinking off unless asked for: the prompt carries Qwen3's empty think block", async () => {
    const count = async (think: boolean | undefined) => {
      const body = { messages: [USER], tools: [WEATHER], tool_choice: "required", options: { ...OPTIONS, num_predict: 1 } };
      return (await chat(think === undefined ? body : { ...body, think })).body.prompt_eval_count as number;
    };
    const [unset, on, off] = [await count(undefined), await count(true), await count(false)];
    expect(unset).toBe(off);
    expect(off - on).toBe(4); // "<think>", "\n\n", "</think>", "\n\n"
  });

  test("a forced call with format as well is refused", async () => {
    const { status, body } = await chat({ messages: [USER], tools: [WEATHER], tool_choice: "required", format: "json" });
    expect({ status, body }).toEqual({ status: 400, body: { error: "tool_choice that forces a call cannot be combined with format" } });
  });

  test("openai client: finish_reason tool_calls, arguments as a JSON string, streamed as a tool_calls delta", async () => {
    const request = {
      model: TINY,
      messages: [USER as OpenAI.ChatCompletionMessageParam],
      tools: [WEATHER as OpenAI.ChatCompletionTool],
      tool_choice: "required" as const,
      max_tokens: 64,
      seed: 1,
      temperature: 0,
    };
    const whole = await openai.chat.completions.create(request);
    const choice = whole.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const call = choice.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toMatch(/^call_[a-z0-9]{8}$/);
    checkWeatherCall(call.function.name, JSON.parse(call.function.arguments));

    const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of await openai.chat.completions.create({ ...request, stream: true })) {
      deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe("tool_calls");
    expect(deltas).toHaveLength(1);
    expect(deltas[0]!.index).toBe(0);
    checkWeatherCall(deltas[0]!.function!.name!, JSON.parse(deltas[0]!.function!.arguments!));

    const followUp = await openai.chat.completions.create({
      ...request,
      tool_choice: "auto",
      max_tokens: 8,
      messages: [...request.messages, choice.message, { role: "tool", tool_call_id: call.id, content: "18 degrees and sunny" }],
    });
    expect(followUp.choices[0]!.message.role).toBe("assistant");
  });
});
