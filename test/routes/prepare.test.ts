// prepare(): the one place a turn is decided (thinking, the rendered prompt of either template kind, how the reply
// is read, the constraint), checked on the tiny Qwen3 under its guises without running it: what the runner would
// receive is the returned params.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ChatRequest, GenerateRequest, Tool } from "../../src/schemas/index.ts";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { prepare, type PreparedRequest } from "../../src/routes/prepare.ts";
import { tinyQwen3Dir } from "./fixtures/tiny-model.ts";
import { importPlainModel, importThinkingOpenModel } from "./fixtures/tiny-variants.ts";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  await importPlainModel(server.store, "plain");
  await importThinkingOpenModel(server.store, "opens");
  const chatml = readFileSync(join(import.meta.dir, "../formats/go-template-fixtures/library/chatml.gotmpl"), "utf8");
  const created = await post(server.url, "/api/create", { model: "go-chatml", from: TINY, template: chatml, stream: false });
  expect(created.status).toBe(200);
});
afterAll(async () => {
  await server.close();
});

const app = () => ({ store: server.store, scheduler: server.scheduler });
const hello = [{ role: "user", content: "hello" }];
const ASSISTANT = "<|im_start|>assistant\n";
const CLOSED_THOUGHT = "<think>\n\n</think>\n\n";
const weather: Tool = {
  type: "function",
  function: { name: "get_weather", description: "weather of a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

function chat(body: Partial<ChatRequest> & { thinkBudget?: number }): Promise<PreparedRequest> {
  const { thinkBudget, ...rest } = body;
  const request = { model: TINY, messages: hello, ...rest } as ChatRequest;
  const turn = { route: "chat" as const, messages: request.messages ?? [], tools: request.tools ?? [], toolChoice: request.tool_choice, thinkBudget };
  return prepare(app(), server.store.get(request.model), request, turn, request.model);
}

function generate(body: Partial<GenerateRequest>): Promise<PreparedRequest> {
  const request = { model: TINY, prompt: "hello", ...body } as GenerateRequest;
  const turn = {
    route: "generate" as const,
    prompt: request.prompt ?? "",
    raw: request.raw === true,
    system: request.system,
    template: request.template,
    suffix: request.suffix,
    context: request.context,
  };
  return prepare(app(), server.store.get(request.model), request, turn, request.model);
}

describe("thinking is decided once", () => {
  test("a model that can think thinks when the request leaves it unset: the template renders it on, the reply is split", async () => {
    const p = await chat({});
    expect(p.params?.prompt).toBe(`<|im_start|>user\nhello<|im_end|>\n${ASSISTANT}`);
    expect(p.params?.rendered).toBe(true);
    expect(p.params?.thinking).toBe(true);
    expect(p.reply).toEqual({ thinkingTags: { open: "<think>", close: "</think>" }, startInThinking: false });
    expect(p.params?.constraint).toBeUndefined();
  });

  test("think:false renders Qwen3's closed empty thought and reads no thinking", async () => {
    const p = await chat({ think: false });
    expect(p.params?.prompt).toEndWith(ASSISTANT + CLOSED_THOUGHT);
    expect(p.params?.thinking).toBeUndefined();
    expect(p.reply).toEqual({});
  });

  test("a model that cannot think: no thinking unless asked, and asking is Ollama's 400", async () => {
    const p = await chat({ model: "plain" });
    expect(p.params?.thinking).toBeUndefined();
    expect(p.reply.thinkingTags).toBeUndefined();
    await expect(chat({ model: "plain", think: true })).rejects.toMatchObject({ status: 400, message: '"plain:latest" does not support thinking' });
  });

  test("a template that opens the thought itself: the reply starts inside it", async () => {
    const p = await chat({ model: "opens" });
    expect(p.params?.prompt).toEndWith(`${ASSISTANT}<think>\n`);
    expect(p.reply.startInThinking).toBe(true);
  });

  test("a thought's budget travels only while thinking is on", async () => {
    expect((await chat({ thinkBudget: 16 })).params?.thinkBudget).toBe(16);
    expect((await chat({ thinkBudget: 16, think: false })).params?.thinkBudget).toBeUndefined();
  });

  test("a raw generate keeps the caller's text and reads no thinking; a templated one continues with context", async () => {
    const raw = await generate({ prompt: "<|im_start|>user\nhi", raw: true });
    expect(raw.params).toMatchObject({ prompt: "<|im_start|>user\nhi", thinking: true });
    expect(raw.params?.rendered).toBeUndefined();
    expect(raw.params?.returnContext).toBeUndefined();
    expect(raw.reply).toEqual({});
    const templated = await generate({ think: false });
    expect(templated.params).toMatchObject({ prompt: `<|im_start|>user\nhello<|im_end|>\n${ASSISTANT}${CLOSED_THOUGHT}`, rendered: true, returnContext: true });
  });
});

describe("the one constraint", () => {
  test("format json constrains the answer and leaves thinking on (the gate lets the thought come first)", async () => {
    const p = await chat({ format: "json" });
    expect(p.params?.constraint).toEqual({ kind: "json" });
    expect(p.params?.thinking).toBe(true);
  });

  test("tools on auto: told to the template, read back as hermes calls, nothing forced", async () => {
    const p = await chat({ tools: [weather] });
    expect(p.params?.prompt).toContain('"name": "get_weather"');
    expect(p.reply.toolFormat).toBe("hermes");
    expect(p.params?.constraint).toBeUndefined();
    const none = await chat({ tools: [weather], tool_choice: "none" });
    expect(none.params?.prompt).not.toContain("get_weather");
    expect(none.reply.toolFormat).toBeUndefined();
  });

  test("a forced call turns unset thinking off and becomes the constraint", async () => {
    const p = await chat({ tools: [weather], tool_choice: "required" });
    expect(p.params?.prompt).toEndWith(ASSISTANT + CLOSED_THOUGHT);
    expect(p.params?.thinking).toBeUndefined();
    expect(p.params?.constraint).toMatchObject({ kind: "tool_call", prefix: "<tool_call>\n", suffix: "\n</tool_call>" });
  });

  test("a forced call after a prompt that opened a thought closes it first; with format it is refused", async () => {
    const p = await chat({ model: "opens", tools: [weather], tool_choice: "required", think: true });
    expect(p.params?.constraint).toMatchObject({ kind: "tool_call", prefix: "</think>\n\n<tool_call>\n" });
    await expect(chat({ tools: [weather], tool_choice: "required", format: "json" })).rejects.toMatchObject({ status: 400 });
  });
});

describe("the prompt, rendered once for both template kinds", () => {
  test("a model's Go TEMPLATE renders in the server; the runner adds BOS to it as to any text", async () => {
    const p = await chat({ model: "go-chatml", think: false });
    expect(p.params?.prompt).toBe(`<|im_start|>user\nhello<|im_end|>\n${ASSISTANT}`);
    expect(p.params?.rendered).toBeUndefined();
    const g = await generate({ template: "[{{ .System }}] {{ .Prompt }} =>", system: "be brief" });
    expect(g.params?.prompt).toBe("[be brief] hello =>");
  });

  test("an empty conversation or prompt is no turn: load or unload", async () => {
    expect((await chat({ messages: [] })).params).toBeUndefined();
    expect((await generate({ prompt: "" })).params).toBeUndefined();
  });

  test("a conversation longer than num_ctx loses its oldest messages (the latest that fit stay, system kept); truncate false keeps them", async () => {
    const messages = [
      { role: "system", content: "be brief" },
      { role: "user", content: `first ${"word ".repeat(200)}` },
      { role: "assistant", content: "ok" },
      { role: "user", content: "second" },
    ];
    const cut = await chat({ messages, think: false, options: { num_ctx: 64 } });
    expect(cut.params?.prompt).toBe(`<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n<|im_start|>user\nsecond<|im_end|>\n${ASSISTANT}${CLOSED_THOUGHT}`);
    const kept = await chat({ messages, think: false, options: { num_ctx: 64 }, truncate: false });
    expect(kept.params?.prompt).toContain("first word");
    expect(kept.params?.truncate).toBe(false);
  });

  test("a context is decoded in front of the prompt; an id outside the vocabulary is the client's 400", async () => {
    const before = (await Tokenizer.fromFiles(tinyQwen3Dir())).decode([27, 91]);
    expect(before.length).toBeGreaterThan(0);
    const p = await generate({ prompt: "again", think: false, context: [27, 91] });
    expect(p.params?.prompt).toBe(`${before}<|im_start|>user\nagain<|im_end|>\n${ASSISTANT}${CLOSED_THOUGHT}`);
    await expect(generate({ context: [1, 99_999_999] })).rejects.toMatchObject({ status: 400, message: "invalid context: token id 99999999 is not in the vocabulary" });
  });
});
