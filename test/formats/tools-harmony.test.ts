// gpt-oss's harmony replies: analysis is thinking, final is content, commentary addressed to functions.NAME is a
// tool call; the same parts whether the text arrives whole or a character at a time.
import { describe, expect, test } from "bun:test";
import { HarmonyParser, isHarmonyTemplate, type HarmonyParts } from "../../src/formats/tools/harmony.ts";
import { detectThinkingTags } from "../../src/formats/tools/thinking.ts";
import { ReplyParser } from "../../src/routes/reply.ts";

function parse(text: string, tools = true, chunk = text.length): HarmonyParts {
  const p = new HarmonyParser(tools);
  const all: HarmonyParts = { thinking: "", content: "", toolCalls: [] };
  const add = (r: HarmonyParts) => {
    all.thinking += r.thinking;
    all.content += r.content;
    all.toolCalls.push(...r.toolCalls);
  };
  for (let i = 0; i < text.length; i += chunk) add(p.push(text.slice(i, i + chunk)));
  add(p.flush());
  return all;
}

/** Parsed whole and streamed one character at a time: both must give `want`. */
function expectParts(text: string, want: HarmonyParts, tools = true): void {
  expect(parse(text, tools)).toEqual(want);
  expect(parse(text, tools, 1)).toEqual(want);
}

describe("harmony replies", () => {
  test("analysis is thinking and final is content, with <|return|> seen or cut off as a stop token", () => {
    const reply = "<|channel|>analysis<|message|>User asks 2+2. Easy.<|end|><|start|>assistant<|channel|>final<|message|>It is 4.";
    const want = { thinking: "User asks 2+2. Easy.", content: "It is 4.", toolCalls: [] };
    expectParts(reply, want);
    expectParts(`${reply}<|return|>`, want);
  });

  test("a commentary message to functions.NAME is a tool call with its JSON arguments, in either header order", () => {
    expectParts('<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"location":"Paris"}<|call|>', {
      thinking: "Need weather.",
      content: "",
      toolCalls: [{ index: 0, name: "get_weather", arguments: { location: "Paris" } }],
    });
    expectParts('<|channel|>analysis<|message|>Two.<|end|><|start|>assistant to=functions.a<|channel|>commentary json<|message|>{}<|call|><|start|>assistant to=functions.b<|channel|>commentary json<|message|>{"x": [1, 2]}', {
      thinking: "Two.",
      content: "",
      toolCalls: [
        { index: 0, name: "a", arguments: {} },
        { index: 1, name: "b", arguments: { x: [1, 2] } },
      ],
    });
  });

  test("commentary without a recipient, and a call when no tools were offered, are content", () => {
    expectParts("<|channel|>commentary<|message|>Let me check.<|end|><|start|>assistant<|channel|>final<|message|>Done.", { thinking: "", content: "Let me check.Done.", toolCalls: [] });
    expectParts('<|channel|>commentary to=functions.f json<|message|>{"a":1}<|call|>', { thinking: "", content: '{"a":1}', toolCalls: [] }, false);
  });

  test("a call whose arguments are not a JSON object goes out as content", () => {
    expectParts("<|channel|>commentary to=functions.f json<|message|>{not json<|call|>", { thinking: "", content: "{not json", toolCalls: [] });
  });

  test("a reply with no harmony token is plain content; a stray '<' inside a body is kept", () => {
    expectParts("Just text, <b>bold</b>.", { thinking: "", content: "Just text, <b>bold</b>.", toolCalls: [] });
    expectParts("<|channel|>final<|message|>a < b and a <| c", { thinking: "", content: "a < b and a <| c", toolCalls: [] });
  });

  test("a reply cut off inside its header gives nothing; cut off inside the analysis, the thought so far", () => {
    expectParts("<|channel|>analy", { thinking: "", content: "", toolCalls: [] });
    expectParts("<|channel|>analysis<|message|>Thinking about it", { thinking: "Thinking about it", content: "", toolCalls: [] });
  });
});

describe("harmony in the reply parser", () => {
  const template = "{{ '<|start|>assistant<|channel|>analysis<|message|>' + m.thinking + '<|end|>' }}<|channel|>final<|message|>";

  test("a harmony template is recognised, and counts as a thinking model", () => {
    expect(isHarmonyTemplate(template)).toBe(true);
    expect(isHarmonyTemplate("<|im_start|>assistant")).toBe(false);
    expect(detectThinkingTags(template)).toEqual({ open: "<|channel|>analysis<|message|>", close: "<|end|>" });
  });

  test("ReplyParser with harmony splits thinking, content and calls, and gives each call an id", () => {
    const parser = new ReplyParser({ harmony: true, toolFormat: "json" });
    const a = parser.push("<|channel|>analysis<|message|>Hmm.<|end|><|start|>assistant<|channel|>commentary to=functions.add json<|message|>");
    const b = parser.push('{"a": 1, "b": 2}<|call|>');
    const c = parser.flush();
    expect(a).toEqual({ thinking: "Hmm.", content: "", toolCalls: [] });
    expect(b.toolCalls).toHaveLength(1);
    expect(b.toolCalls[0]!.id).toMatch(/^call_/);
    expect(b.toolCalls[0]!.function).toEqual({ index: 0, name: "add", arguments: { a: 1, b: 2 } });
    expect(c).toEqual({ thinking: "", content: "", toolCalls: [] });
  });
});
