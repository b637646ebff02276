import { describe, expect, test } from "bun:test";
import { gunzipSync } from "bun";
import { join } from "node:path";
import { createToolCallParser, detectToolFormat, type ToolCall, type ToolFormat } from "../../src/formats/tools/parser.ts";
import { randomSplits } from "./tools-fixtures/chunks.ts";

interface Parsed {
  content: string;
  toolCalls: ToolCall[];
}

function parse(format: ToolFormat, pieces: string[]): Parsed {
  const parser = createToolCallParser(format);
  const all: Parsed = { content: "", toolCalls: [] };
  for (const piece of [...pieces.map((p) => parser.push(p)), parser.flush()]) {
    all.content += piece.content;
    all.toolCalls.push(...piece.toolCalls);
  }
  return all;
}

/** Parses whole and in 50 seeded random splits; all must agree. Returns the whole-text result. */
function parseEveryWay(format: ToolFormat, text: string): Parsed {
  const whole = parse(format, [text]);
  for (let seed = 1; seed <= 50; seed++) expect(parse(format, randomSplits(text, seed))).toEqual(whole);
  expect(parse(format, [...text])).toEqual(whole);
  return whole;
}

const call = (index: number, name: string, args: Record<string, unknown>): ToolCall => ({
  function: { index, name, arguments: args },
});

describe("hermes / qwen3 <tool_call>", () => {
  test("content before a call streams, then the call", () => {
    const out = parseEveryWay(
      "hermes",
      'I\'ll check the weather.\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>',
    );
    expect(out).toEqual({
      content: "I'll check the weather.",
      toolCalls: [call(0, "get_weather", { city: "Paris", unit: "celsius" })],
    });
  });

  test("two calls in one message get indexes 0 and 1", () => {
    const out = parseEveryWay(
      "hermes",
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {"tz": "Europe/Paris"}}\n</tool_call>',
    );
    expect(out).toEqual({
      content: "",
      toolCalls: [call(0, "get_weather", { city: "Paris" }), call(1, "get_time", { tz: "Europe/Paris" })],
    });
  });

  test("content before the call is released before the call completes", () => {
    const parser = createToolCallParser("hermes");
    expect(parser.push("Sure, one moment. <tool_")).toEqual({ content: "Sure, one moment.", toolCalls: [] });
    expect(parser.push('call>{"name": "f", "arguments": {}')).toEqual({ content: "", toolCalls: [] });
    expect(parser.push("}</tool_call>")).toEqual({ content: "", toolCalls: [call(0, "f", {})] });
  });

  test("a false start <tool_ followed by ordinary text is released as content", () => {
    const out = parseEveryWay("hermes", "Use the <tool_ prefix for names, and <tool> tags.");
    expect(out).toEqual({ content: "Use the <tool_ prefix for names, and <tool> tags.", toolCalls: [] });
  });

  test("invalid JSON inside the markers is released verbatim as content", () => {
    const text = 'Trying.\n<tool_call>\n{"name": "get_weather", "arguments": {city: Paris}}\n</tool_call>';
    expect(parseEveryWay("hermes", text)).toEqual({ content: text, toolCalls: [] });
  });

  test("arguments given as a JSON string are decoded to an object", () => {
    const out = parseEveryWay("hermes", '<tool_call>{"name": "f", "arguments": "{\\"x\\": [1, 2]}"}</tool_call>');
    expect(out.toolCalls).toEqual([call(0, "f", { x: [1, 2] })]);
  });

  test("content after a call is kept, whitespace between dropped", () => {
    const out = parseEveryWay("hermes", '<tool_call>{"name": "f", "arguments": {}}</tool_call>\n\nDone.');
    expect(out).toEqual({ content: "Done.", toolCalls: [call(0, "f", {})] });
  });

  test("a call cut off without </tool_call> is still parsed at flush when complete", () => {
    const out = parseEveryWay("hermes", '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n');
    expect(out.toolCalls).toEqual([call(0, "f", { a: 1 })]);
  });

  test("no calls at all: text passes through unchanged", () => {
    const text = "The answer is 42.\n\nBraces { } and <tags> are fine.\n";
    expect(parseEveryWay("hermes", text)).toEqual({ content: text, toolCalls: [] });
  });
});

describe("qwen3-coder XML calls", () => {
  test("function and parameters, JSON-looking values decoded", () => {
    const out = parseEveryWay(
      "qwen3_coder",
      "Let me look.\n<tool_call>\n<function=read_file>\n<parameter=path>\nsrc/index.ts\n</parameter>\n<parameter=limit>\n40\n</parameter>\n</function>\n</tool_call>",
    );
    expect(out).toEqual({ content: "Let me look.", toolCalls: [call(0, "read_file", { path: "src/index.ts", limit: 40 })] });
  });
});

describe("llama 3.x JSON calls", () => {
  test("a reply that is a bare JSON call", () => {
    const out = parseEveryWay("llama3", '{"name": "get_weather", "parameters": {"city": "San Francisco, CA"}}');
    expect(out).toEqual({ content: "", toolCalls: [call(0, "get_weather", { city: "San Francisco, CA" })] });
  });

  test("<|python_tag|> then JSON", () => {
    const out = parseEveryWay("llama3", '<|python_tag|>{"name": "search", "parameters": {"query": "mlx"}}');
    expect(out.toolCalls).toEqual([call(0, "search", { query: "mlx" })]);
  });

  test("two JSON calls separated by a newline", () => {
    const out = parseEveryWay("llama3", '{"name": "a", "parameters": {}}\n{"name": "b", "parameters": {"x": true}}');
    expect(out.toolCalls).toEqual([call(0, "a", {}), call(1, "b", { x: true })]);
  });

  test("JSON later in prose is content (calls only open the reply)", () => {
    const text = 'The payload is {"name": "a", "parameters": {}} as shown.';
    expect(parseEveryWay("llama3", text)).toEqual({ content: text, toolCalls: [] });
  });

  test("a reply starting with JSON that is not a call is content", () => {
    const text = '{"temperature": 21}\nThat is the reading.';
    expect(parseEveryWay("json", text)).toEqual({ content: text, toolCalls: [] });
  });
});

describe("mistral [TOOL_CALLS]", () => {
  test("v3 JSON list with two calls", () => {
    const out = parseEveryWay(
      "mistral",
      '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]',
    );
    expect(out).toEqual({ content: "", toolCalls: [call(0, "get_weather", { city: "Paris" }), call(1, "get_time", {})] });
  });

  test("name[ARGS]{...} form, repeated", () => {
    const out = parseEveryWay(
      "mistral",
      'Checking both.[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]get_time[ARGS]{"tz": "CET"}',
    );
    expect(out).toEqual({
      content: "Checking both.",
      toolCalls: [call(0, "get_weather", { city: "Paris" }), call(1, "get_time", { tz: "CET" })],
    });
  });

  test("name[CALL_ID]id[ARGS]{...}", () => {
    const out = parseEveryWay("mistral", '[TOOL_CALLS]f[CALL_ID]a1b2c3d4e[ARGS]{"n": 2}');
    expect(out.toolCalls).toEqual([call(0, "f", { n: 2 })]);
  });

  test("[TOOL_CALLS] followed by prose is content", () => {
    const text = "[TOOL_CALLS] is not something I will use here.";
    expect(parseEveryWay("mistral", text)).toEqual({ content: text, toolCalls: [] });
  });
});

describe("gemma call syntax", () => {
  test("gemma 4 <|tool_call>call:name{...}<tool_call|>", () => {
    const out = parseEveryWay(
      "gemma4",
      'Looking it up.<|tool_call>call:get_weather{city:<|"|>Paris, FR<|"|>,days:3,detail:{wind:true}}<tool_call|>',
    );
    expect(out).toEqual({
      content: "Looking it up.",
      toolCalls: [call(0, "get_weather", { city: "Paris, FR", days: 3, detail: { wind: true } })],
    });
  });

  test("FunctionGemma <start_function_call>call:name{k:<escape>v<escape>}", () => {
    const out = parseEveryWay(
      "function_gemma",
      "<start_function_call>call:set_timer{label:<escape>tea, green<escape>,minutes:4}<end_function_call>",
    );
    expect(out.toolCalls).toEqual([call(0, "set_timer", { label: "tea, green", minutes: 4 })]);
  });
});

describe("pythonic (LFM2)", () => {
  test("<|tool_call_start|>[f(a=...), g()]<|tool_call_end|>", () => {
    const out = parseEveryWay(
      "pythonic",
      'Sure.<|tool_call_start|>[get_weather(city="Paris", days=2), get_time(tz=\'CET\', dst=True)]<|tool_call_end|>It is done.',
    );
    expect(out).toEqual({
      content: "Sure.It is done.",
      toolCalls: [call(0, "get_weather", { city: "Paris", days: 2 }), call(1, "get_time", { tz: "CET", dst: true })],
    });
  });
});

describe("detectToolFormat", () => {
  const fixtures = join(import.meta.dir, "tokenizer-fixtures");
  const template = async (path: string): Promise<string> => {
    const bytes = new Uint8Array(await Bun.file(join(fixtures, path)).arrayBuffer());
    const text = path.endsWith(".gz") ? new TextDecoder().decode(gunzipSync(bytes)) : new TextDecoder().decode(bytes);
    return (JSON.parse(text) as { chat_template: string }).chat_template;
  };

  test("Qwen3's template is hermes", async () => {
    expect(detectToolFormat(await template("qwen3-mini/tokenizer_config.json"))).toBe("hermes");
  });

  test("templates that take no tools (the llama3_1 fixture's plain template, Gemma 3) have no format", async () => {
    expect(detectToolFormat(await template("llama3_1/tokenizer_config.json"))).toBeUndefined();
    expect(detectToolFormat(await template("gemma3/tokenizer_config.json.gz"))).toBeUndefined();
  });

  test("marker snippets from other families' templates", () => {
    expect(detectToolFormat('{{- "<|python_tag|>" }}{%- for t in tools %}')).toBe("llama3");
    expect(detectToolFormat("{{ '[TOOL_CALLS]' }}{{ tools | tojson }}")).toBe("mistral");
    expect(detectToolFormat("<tool_call>\n<function={{ name }}>")).toBe("qwen3_coder");
    expect(detectToolFormat("<|tool_call>call:{{ name }}<tool_call|>")).toBe("gemma4");
    expect(detectToolFormat("<start_function_call>call:")).toBe("function_gemma");
    expect(detectToolFormat("<|tool_list_start|>{{ tools }}<|tool_list_end|>")).toBe("pythonic");
    expect(detectToolFormat("{% if tools %}{{ tools | tojson }}{% endif %}")).toBe("json");
    expect(detectToolFormat("{% if tools %}{% endif %}", new Set(["[TOOL_CALLS]"]))).toBe("mistral");
    expect(detectToolFormat("{%- if tools %}<|start_of_role|>available_tools<|end_of_role|>{{ tools }}{% endif %}<|tool_call|>")).toBe("granite");
    expect(detectToolFormat("{% if tools %}{{ tools }}{% endif %}<|START_ACTION|>[ {{ calls }} ]<|END_ACTION|>")).toBe("command_r");
  });
});

describe("granite 3.x <|tool_call|>", () => {
  test("a list of calls after the marker, content before it kept", () => {
    const text = 'Let me check.<|tool_call|>[{"arguments": {"city": "Paris"}, "name": "get_weather"}, {"name": "get_time", "arguments": {"tz": "CET"}}]';
    expect(parseEveryWay("granite", text)).toEqual({
      content: "Let me check.",
      toolCalls: [call(0, "get_weather", { city: "Paris" }), call(1, "get_time", { tz: "CET" })],
    });
  });
  test("a marker followed by something that is not a call list is released as content", () => {
    expect(parseEveryWay("granite", "<|tool_call|>not json at all").content).toBe("<|tool_call|>not json at all");
  });
});

describe("command r <|START_ACTION|>", () => {
  test("the action list's tool_name and parameters, between the action markers", () => {
    const text = '<|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "get_weather", "parameters": {"location": "Oslo", "days": 3}},\n    {"tool_call_id": "1", "tool_name": "get_time", "parameters": {}}\n]<|END_ACTION|>';
    expect(parseEveryWay("command_r", text)).toEqual({
      content: "",
      toolCalls: [call(0, "get_weather", { location: "Oslo", days: 3 }), call(1, "get_time", {})],
    });
  });
  test("an action without tool_name is content, verbatim", () => {
    const text = '<|START_ACTION|>[{"name": "x"}]<|END_ACTION|>';
    expect(parseEveryWay("command_r", text)).toEqual({ content: text, toolCalls: [] });
  });
});

describe("deepseek (V3 / R1 / V3.1)", () => {
  const B = "<｜tool▁calls▁begin｜>";
  const E = "<｜tool▁calls▁end｜>";
  const call_ = (head: string, rest: string) => `<｜tool▁call▁begin｜>${head}<｜tool▁sep｜>${rest}<｜tool▁call▁end｜>`;

  test("V3's typed calls with fenced JSON arguments, two in one block, after content", () => {
    const text = `Let me look.${B}${call_("function", 'get_weather\n```json\n{"city": "Paris", "days": 2}\n```')}\n${call_("function", "get_time\n```json\n{}\n```")}${E}`;
    expect(parseEveryWay("deepseek", text)).toEqual({
      content: "Let me look.",
      toolCalls: [call(0, "get_weather", { city: "Paris", days: 2 }), call(1, "get_time", {})],
    });
  });

  test("V3.1's name<｜tool▁sep｜>{arguments}", () => {
    const text = `${B}${call_("get_weather", '{"city": "Oslo"}')}${E}`;
    expect(parseEveryWay("deepseek", text)).toEqual({ content: "", toolCalls: [call(0, "get_weather", { city: "Oslo" })] });
  });

  test("a call whose arguments are not JSON is released as content", () => {
    const text = `${B}${call_("get_weather", "{city: Oslo")}${E}`;
    expect(parseEveryWay("deepseek", text)).toEqual({ content: text, toolCalls: [] });
  });

  test("detected from DeepSeek's template, and from the vocabulary", () => {
    expect(detectToolFormat("{% if tools %}{{'<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>'}}{% endif %}")).toBe("deepseek");
    expect(detectToolFormat("{% if tools %}{% endif %}", new Set([B]))).toBe("deepseek");
  });
});

describe("glm (GLM-4.5 / 4.6)", () => {
  test("<tool_call>name, then <arg_key>/<arg_value> pairs: JSON values decoded, text kept", () => {
    const text =
      "I'll check.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>New York</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n<arg_key>units</arg_key>\n<arg_value>{\"temp\": \"C\"}</arg_value>\n</tool_call>";
    expect(parseEveryWay("glm", text)).toEqual({
      content: "I'll check.",
      toolCalls: [call(0, "get_weather", { city: "New York", days: 3, units: { temp: "C" } })],
    });
  });

  test("a call with no arguments, and a JSON call inside <tool_call>", () => {
    const text = '<tool_call>list_files\n</tool_call><tool_call>{"name": "get_time", "arguments": {"tz": "CET"}}</tool_call>';
    expect(parseEveryWay("glm", text)).toEqual({ content: "", toolCalls: [call(0, "list_files", {}), call(1, "get_time", { tz: "CET" })] });
  });

  test("detected from GLM's template (before hermes, which shares <tool_call>)", () => {
    expect(detectToolFormat("<tool_call>{{ tc.name }}\n<arg_key>{{ k }}</arg_key>\n<arg_value>{{ v }}</arg_value>")).toBe("glm");
  });
});
