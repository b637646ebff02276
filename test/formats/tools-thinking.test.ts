import { describe, expect, test } from "bun:test";
import {
  ThinkingSplitter,
  detectThinkingTags,
  promptOpensThinking,
  stripThinking,
  type ThinkingTags,
} from "../../src/formats/tools/thinking.ts";
import { randomSplits } from "./tools-fixtures/chunks.ts";

function split(pieces: string[], tags?: ThinkingTags, startInThinking = false): { thinking: string; content: string } {
  const splitter = new ThinkingSplitter(tags, startInThinking);
  const all = { thinking: "", content: "" };
  for (const out of [...pieces.map((p) => splitter.push(p)), splitter.flush()]) {
    all.thinking += out.thinking;
    all.content += out.content;
  }
  return all;
}

function splitEveryWay(text: string, tags?: ThinkingTags, startInThinking = false) {
  const whole = split([text], tags, startInThinking);
  for (let seed = 1; seed <= 50; seed++) expect(split(randomSplits(text, seed), tags, startInThinking)).toEqual(whole);
  expect(split([...text], tags, startInThinking)).toEqual(whole);
  return whole;
}

describe("ThinkingSplitter", () => {
  test("<think>…</think> then the answer", () => {
    const out = splitEveryWay("<think>\nThe user wants 2+2. That is 4.\n</think>\n\nThe answer is 4.");
    expect(out).toEqual({ thinking: "The user wants 2+2. That is 4.\n", content: "The answer is 4." });
  });

  test("a prompt that already opened <think> starts in thinking", () => {
    const out = splitEveryWay("Let me think about tea.\n</think>\n\nGreen tea.", undefined, true);
    expect(out).toEqual({ thinking: "Let me think about tea.\n", content: "Green tea." });
  });

  test("no tags at all: everything is content", () => {
    const text = "Just an answer, with a </think> mention later.";
    expect(splitEveryWay(text)).toEqual({ thinking: "", content: text });
  });

  test("a tag split across segments is still recognised, and never leaks", () => {
    const splitter = new ThinkingSplitter();
    expect(splitter.push("<th")).toEqual({ thinking: "", content: "" });
    expect(splitter.push("ink>Hmm, I")).toEqual({ thinking: "Hmm, I", content: "" });
    expect(splitter.push(" see.</th")).toEqual({ thinking: " see.", content: "" });
    expect(splitter.push("ink>Yes.")).toEqual({ thinking: "", content: "Yes." });
  });

  test("thinking cut off by the end of generation is flushed as thinking", () => {
    expect(splitEveryWay("<think>Still going when max tokens hit")).toEqual({
      thinking: "Still going when max tokens hit",
      content: "",
    });
  });

  test("other families' tags: Magistral [THINK] and Gemma 4 channels", () => {
    const magistral = { open: "[THINK]", close: "[/THINK]" };
    expect(splitEveryWay("[THINK]Check units.[/THINK]5 km.", magistral)).toEqual({ thinking: "Check units.", content: "5 km." });
    const gemma4 = { open: "<|channel>thought", close: "<channel|>" };
    expect(splitEveryWay("<|channel>thought\nPlan.<channel|>Done.", gemma4)).toEqual({ thinking: "Plan.", content: "Done." });
  });
});

describe("thinking helpers", () => {
  test("detectThinkingTags finds the template's tags", () => {
    expect(detectThinkingTags("{{ '<think>\\n' + reasoning + '\\n</think>' }}")).toEqual({ open: "<think>", close: "</think>" });
    expect(detectThinkingTags("{{ '[THINK]' }}{{ '[/THINK]' }}")).toEqual({ open: "[THINK]", close: "[/THINK]" });
    expect(detectThinkingTags("{{ messages }}")).toBeUndefined();
  });

  test("promptOpensThinking sees a prompt ending in an open tag", () => {
    expect(promptOpensThinking("<|im_start|>assistant\n<think>\n")).toBe(true);
    expect(promptOpensThinking("<|im_start|>assistant\n")).toBe(false);
  });

  test("stripThinking keeps what follows the last </think>, left-trimmed", () => {
    expect(stripThinking("<think>\nreasoning\n</think>\n\nThe answer.")).toBe("The answer.");
    expect(stripThinking("No thinking here.")).toBe("No thinking here.");
  });
});
