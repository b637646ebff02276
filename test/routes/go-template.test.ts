// /api/generate rendering Go templates: the request's `template`, a model's TEMPLATE layer (over the real tiny
// Qwen3 in real runner processes). What the model received is checked against a raw request of the expected text:
// same prompt_eval_count and, greedy, the same reply.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { chooseGoTemplate, renderGoPrompt } from "../../src/routes/go-prompt.ts";
import { tinyQwen3Dir } from "./fixtures/tiny-model.ts";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const greedy = { temperature: 0, num_predict: 4, seed: 1 };

async function generate(body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await post(server.url, "/api/generate", { model: TINY, stream: false, options: greedy, ...body });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** prompt_eval_count and reply of a raw request: what the model does with exactly this text. */
async function rawRun(prompt: string): Promise<[unknown, unknown]> {
  const { status, json } = await generate({ prompt, raw: true });
  expect(status).toBe(200);
  return [json.prompt_eval_count, json.response];
}

const chatml = readFileSync(join(import.meta.dir, "../formats/go-template-fixtures/library/chatml.gotmpl"), "utf8");

describe("the request's template", () => {
  test("renders the prompt the model receives, with .System and .Prompt", async () => {
    const { status, json } = await generate({ prompt: "hello there", system: "be brief", template: "[{{ .System }}] {{ .Prompt }} =>" });
    expect(status).toBe(200);
    expect([json.prompt_eval_count, json.response]).toEqual(await rawRun("[be brief] hello there =>"));
    expect(Array.isArray(json.context)).toBe(true);
  });

  test("a template without .Response or .Messages still ends at the prompt (Ollama appends {{ .Response }})", async () => {
    const a = await generate({ prompt: "abc", template: "Q: {{ .Prompt }}\nA:" });
    expect([a.json.prompt_eval_count, a.json.response]).toEqual(await rawRun("Q: abc\nA:"));
  });

  test("an unsupported construct is a 400 naming it, invalid Go a 500 with Go's message", async () => {
    const define = await generate({ prompt: "x", template: '{{ define "t" }}hi{{ end }}{{ .Prompt }}' });
    expect(define.status).toBe(400);
    expect(define.json.error).toContain("{{define}}");
    const broken = await generate({ prompt: "x", template: "{{ if .Prompt }}no end" });
    expect(broken.status).toBe(500);
    expect(String(broken.json.error)).toStartWith("template: :1:");
    const unknownFunc = await generate({ prompt: "x", template: "{{ shout .Prompt }}" });
    expect(unknownFunc.status).toBe(500);
    expect(unknownFunc.json.error).toBe('template: :1: function "shout" not defined');
  });

  test("a template failing on the request's values is a 500, not a crash", async () => {
    const r = await generate({ prompt: "x", template: "{{ range $i, $m := .Messages }}{{ .Nope }}{{ end }}" });
    expect(r.status).toBe(500);
    expect(r.json.error).toContain("can't evaluate field Nope");
  });

  test("raw with a template is refused as in Ollama", async () => {
    const r = await generate({ prompt: "x", raw: true, template: "{{ .Prompt }}" });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe("raw mode does not support template, system, or context");
  });
});

describe("a model's TEMPLATE layer", () => {
  beforeAll(async () => {
    for (const [model, template] of [["tpl-plain", "<{{ .Prompt }}>"], ["tpl-chatml", chatml]]) {
      const r = await post(server.url, "/api/create", { model, from: TINY, template, stream: false });
      expect(r.status).toBe(200);
    }
  });

  test("renders the prompt instead of the weights' chat template", async () => {
    const { status, json } = await generate({ model: "tpl-plain", prompt: "ping" });
    expect(status).toBe(200);
    expect([json.prompt_eval_count, json.response]).toEqual(await rawRun("<ping>"));
  });

  test("the request's template wins over the layer", async () => {
    const { json } = await generate({ model: "tpl-plain", prompt: "ping", template: "({{ .Prompt }})" });
    expect([json.prompt_eval_count, json.response]).toEqual(await rawRun("(ping)"));
  });

  test("Ollama's chatml template renders the same prompt as Qwen3's own Jinja template", async () => {
    const body = { prompt: "What is 2+2?", system: "You are terse." };
    const viaGo = await generate({ ...body, model: "tpl-chatml", think: true });
    const viaJinja = await generate({ ...body, think: true });
    expect(viaGo.status).toBe(200);
    const expected = "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n";
    const raw = await rawRun(expected);
    expect(viaGo.json.prompt_eval_count).toBe(raw[0]);
    expect(viaJinja.json.prompt_eval_count).toBe(raw[0]);
  });
});

describe("/api/chat with a model's TEMPLATE layer", () => {
  async function chat(model: string, messages: unknown[], extra: Record<string, unknown> = {}) {
    const r = await post(server.url, "/api/chat", { model, messages, stream: false, options: greedy, ...extra });
    return { status: r.status, json: (await r.json()) as { prompt_eval_count: unknown; message: { content: unknown }; error?: string } };
  }

  test("the layer renders the conversation the model receives, not the weights' chat template", async () => {
    const { status, json } = await chat("tpl-plain", [{ role: "user", content: "ping" }], { think: false });
    expect(status).toBe(200);
    expect([json.prompt_eval_count, json.message.content]).toEqual(await rawRun("<ping>"));
  });

  test("Ollama's chatml template renders a conversation as Qwen3's own Jinja template does", async () => {
    const messages = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: "4" },
      { role: "user", content: "And 3+3?" },
    ];
    const viaGo = await chat("tpl-chatml", messages);
    expect(viaGo.status).toBe(200);
    const expected =
      "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n" +
      "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n";
    expect(viaGo.json.prompt_eval_count).toBe((await rawRun(expected))[0]);
  });

  test("the Modelfile's SYSTEM reaches the template", async () => {
    const created = await post(server.url, "/api/create", { model: "tpl-system", from: "tpl-plain", system: "S", stream: false });
    expect(created.status).toBe(200);
    const withSystem = "{{ if .System }}[{{ .System }}]{{ end }}<{{ .Prompt }}>";
    const r = await post(server.url, "/api/create", { model: "tpl-system2", from: "tpl-system", template: withSystem, stream: false });
    expect(r.status).toBe(200);
    const { json } = await chat("tpl-system2", [{ role: "user", content: "ping" }], { think: false });
    expect([json.prompt_eval_count, json.message.content]).toEqual(await rawRun("[S]<ping>"));
  });
});

describe("suffix (fill in the middle)", () => {
  test("a model whose TEMPLATE uses .Suffix renders prompt and suffix; one without refuses insert", async () => {
    const template = "{{ if .Suffix }}<PRE>{{ .Prompt }}<SUF>{{ .Suffix }}<MID>{{ else }}{{ .Prompt }}{{ end }}";
    const created = await post(server.url, "/api/create", { model: "tpl-fim", from: TINY, template, stream: false });
    expect(created.status).toBe(200);
    const show = (await (await post(server.url, "/api/show", { model: "tpl-fim" })).json()) as { capabilities: string[] };
    expect(show.capabilities).toContain("insert");
    const { status, json } = await generate({ model: "tpl-fim", prompt: "def f(", suffix: "return 1" });
    expect(status).toBe(200);
    expect([json.prompt_eval_count, json.response]).toEqual(await rawRun("<PRE>def f(<SUF>return 1<MID>"));
    const refused = await generate({ prompt: "def f(", suffix: "return 1" });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe(`${TINY} does not support insert`);
  });
});

describe("context", () => {
  test("the final response carries the prompt's and the reply's token ids, and a raw one none", async () => {
    const { json } = await generate({ prompt: "hi", template: "U:{{ .Prompt }}\nA:" });
    const context = json.context as number[];
    expect(context.length).toBe((json.prompt_eval_count as number) + (json.eval_count as number));
    const tokenizer = await Tokenizer.fromFiles(tinyQwen3Dir());
    expect(context.slice(0, json.prompt_eval_count as number)).toEqual(tokenizer.encodePrompt("U:hi\nA:"));
    const raw = await generate({ prompt: "hi", raw: true });
    expect(raw.json.context).toBeUndefined();
  });

  test("a second request continues from the first one's context: its text precedes the new prompt", async () => {
    const template = "U:{{ .Prompt }}\nA:";
    const first = await generate({ prompt: "one", template });
    const context = first.json.context as number[];
    const second = await generate({ prompt: "two", template, context });
    expect(second.status).toBe(200);
    const tokenizer = await Tokenizer.fromFiles(tinyQwen3Dir());
    const expected = `${tokenizer.decode(context)}U:two\nA:`;
    expect([second.json.prompt_eval_count, second.json.response]).toEqual(await rawRun(expected));
    const again = second.json.context as number[];
    expect(again.length).toBe((second.json.prompt_eval_count as number) + (second.json.eval_count as number));
  });

  test("context with the model's own chat template continues the same way", async () => {
    const first = await generate({ prompt: "one", think: false });
    const context = first.json.context as number[];
    expect(context.length).toBe((first.json.prompt_eval_count as number) + (first.json.eval_count as number));
    const second = await generate({ prompt: "two", think: false, context });
    expect(second.status).toBe(200);
    expect(second.json.prompt_eval_count as number).toBeGreaterThan(context.length);
  });

  test("token ids outside the vocabulary are the client's 400 with a message, not a crash", async () => {
    const r = await generate({ prompt: "x", context: [1, 99_999_999] });
    expect(r.status).toBe(400);
    expect(r.json.error).toContain("invalid context: token id 99999999");
    const raw = await generate({ prompt: "x", raw: true, context: [1, 2] });
    expect(raw.status).toBe(400);
  });
});

describe("choosing and rendering the template (go-prompt.ts)", () => {
  test("request template over layer; no layer means the model's Jinja template; a layer we cannot run falls back", () => {
    const layers = { license: [], template: "L{{ .Prompt }}" };
    const messages = [{ role: "user", content: "p" }];
    expect(renderGoPrompt(chooseGoTemplate("R{{ .Prompt }}", layers)!, { messages })).toBe("Rp");
    expect(renderGoPrompt(chooseGoTemplate(undefined, layers)!, { messages })).toBe("Lp");
    expect(chooseGoTemplate(undefined, { license: [] })).toBeUndefined();
    expect(chooseGoTemplate(undefined, { license: [], template: '{{ template "x" }}' })).toBeUndefined();
    expect(() => chooseGoTemplate('{{ template "x" }}', layers)).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => chooseGoTemplate("{{ if }}", layers)).toThrow(expect.objectContaining({ status: 500 }));
  });

  test("chat messages reach the template as Ollama's: tool results' names, string arguments parsed", () => {
    const tmpl = chooseGoTemplate(
      "{{ range .Messages }}{{ .Role }}{{ range .ToolCalls }}({{ .Function.Name }} {{ .Function.Arguments }}){{ end }}{{ if .ToolName }}[{{ .ToolName }}]{{ end }}:{{ .Content }};{{ end }}",
      { license: [] },
    )!;
    const messages = [
      { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: '{"b":2,"a":1}' } }] },
      { role: "tool", content: "3", name: "f" },
    ];
    expect(renderGoPrompt(tmpl, { messages })).toBe('assistant(f {"a":1,"b":2}):;tool[f]:3;');
  });
});
