import { describe, expect, test } from "bun:test";
import { StopMatcher } from "../../src/formats/tokenizer/stop.ts";

function run(stops: string[], segments: string[]): { text: string; stopped: boolean; emits: string[] } {
  const m = new StopMatcher(stops);
  const emits: string[] = [];
  for (const s of segments) {
    const r = m.push(s);
    emits.push(r.emit);
    if (r.stopped) return { text: emits.join(""), stopped: true, emits };
  }
  emits.push(m.flush());
  return { text: emits.join(""), stopped: false, emits };
}

describe("StopMatcher", () => {
  test("stop string inside one segment: the text before it is emitted", () => {
    expect(run(["</s>"], ["Hello</s>world"])).toMatchObject({ text: "Hello", stopped: true });
  });

  test("stop string split across two segments is not emitted", () => {
    const r = run(["<|end|>"], ["Answer: 42<|e", "nd|> trailing"]);
    expect(r).toMatchObject({ text: "Answer: 42", stopped: true });
    expect(r.emits[0]).toBe("Answer: 42");
  });

  test("stop string split across three segments is not emitted", () => {
    const r = run(["STOP"], ["go S", "T", "OP now"]);
    expect(r).toMatchObject({ text: "go ", stopped: true });
    expect(r.emits.join("")).not.toContain("S");
  });

  test("text sharing a prefix with a stop string is released once disambiguated", () => {
    const r = run(["\nUser:"], ["Line one\nUs", "ually fine"]);
    expect(r.emits).toEqual(["Line one", "\nUsually fine", ""]);
    expect(r).toMatchObject({ text: "Line one\nUsually fine", stopped: false });
  });

  test("flush at the end releases held text", () => {
    const m = new StopMatcher(["###"]);
    expect(m.push("Result ##")).toEqual({ emit: "Result ", stopped: false });
    expect(m.flush()).toBe("##");
  });

  test("the earliest of several stop strings wins, and nothing follows a stop", () => {
    const m = new StopMatcher(["bb", "a"]);
    expect(m.push("xxbbya")).toEqual({ emit: "xx", stopped: true });
    expect(m.push("more")).toEqual({ emit: "", stopped: true });
    expect(m.flush()).toBe("");
  });

  test("a stop string that overlaps itself is found after a false start", () => {
    expect(run(["aab"], ["a", "a", "a", "b!"])).toMatchObject({ text: "a", stopped: true });
  });

  test("no stop strings: everything passes through", () => {
    expect(run([], ["a", "b"]).emits).toEqual(["a", "b", ""]);
  });
});
