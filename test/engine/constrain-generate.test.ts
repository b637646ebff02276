// The token loop under a constraint, on real MLX with the tiny random-weight qwen3: the forward pass is queued
// ahead, masking and sampling wait for the token before; output is valid, reproducible, and ends at the close.
import { afterAll, describe, expect, test } from "bun:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { complete, loadMlxModel, type CompletionOptions, type LoadedModel } from "../../src/engine/completion.ts";
import { createConstraint } from "../../src/engine/constrain/constraint.ts";
import { requestConstraint, ThinkingGate } from "../../src/engine/constrain/thinking-gate.ts";
import type { OutputConstraint } from "../../src/engine/protocol.ts";
import { tinyQwen3Dir } from "../routes/fixtures/tiny-model.ts";
import { PERSON } from "./constrain-fixtures.ts";

const lm: LoadedModel = await loadMlxModel("tiny", tinyQwen3Dir());
afterAll(() => lm[Symbol.dispose]());
const validate = new Ajv2020({ strict: false }).compile(PERSON);
const prompt = lm.tokenizer.encode("<|im_start|>user\nA person as JSON<|im_end|>\n<|im_start|>assistant\n", { addSpecialTokens: false });

async function run(spec: OutputConstraint, options: Partial<CompletionOptions>): Promise<{ text: string; tokens: number; finish: string }> {
  const opts: CompletionOptions = {
    temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, repeatLastN: 64,
    maxTokens: 400, numCtx: 4096, stop: [], constraint: createConstraint(lm.tokenizer, spec), ...options,
  };
  const loop = complete(lm, prompt, opts, { cancelled: () => false, yieldToLoop: async () => {} });
  let text = "";
  while (true) {
    const r = await loop.next();
    if (r.done) return { text, tokens: r.value.generatedTokens, finish: r.value.finishReason };
    text += r.value.text;
  }
}

describe("constrained generation on real MLX", () => {
  test("seeded samples with repetition penalties validate and stop at the closing brace", async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const { text, finish } = await run({ kind: "json_schema", schema: PERSON }, { seed, repeatPenalty: 1.3, presencePenalty: 0.5 });
      expect({ seed, text, valid: validate(JSON.parse(text)), finish }).toEqual({ seed, text, valid: true, finish: "stop" });
    }
  });

  test("the same seed gives the same output; greedy decoding is constrained too", async () => {
    const spec: OutputConstraint = { kind: "json_schema", schema: PERSON };
    const a = await run(spec, { seed: 42 });
    const b = await run(spec, { seed: 42 });
    expect(b.text).toBe(a.text);
    const greedy = await run(spec, { temperature: 0 });
    expect(validate(JSON.parse(greedy.text))).toBe(true);
  });

  test("a budget below the shortest value stops with length, every token still within the language", async () => {
    const { text, tokens, finish } = await run({ kind: "json_schema", schema: PERSON }, { seed: 3, maxTokens: 6 });
    expect({ tokens, finish }).toEqual({ tokens: 6, finish: "length" });
    const state = createConstraint(lm.tokenizer, { kind: "json_schema", schema: PERSON });
    expect(state.advanceText(text)).toBe(true);
  });

  test("inside a thought the prompt opened, the gate closes it while the answer still fits: 6 budgets, all validate", async () => {
    const thinking = "<|im_start|>user\nA person as JSON<|im_end|>\n<|im_start|>assistant\n<think>\n";
    const ids = lm.tokenizer.encode(thinking, { addSpecialTokens: false });
    const close = lm.tokenizer.tokenToId("</think>")!;
    for (const [seed, budget] of [[1, 90], [2, 110], [3, 130], [4, 160], [5, 200], [6, 260]] as const) {
      const constraint = requestConstraint(lm.tokenizer, { kind: "json_schema", schema: PERSON }, thinking, true);
      const opts: CompletionOptions = {
        temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, repeatLastN: 64,
        maxTokens: budget, numCtx: 4096, stop: [], constraint, seed,
      };
      const loop = complete(lm, ids, opts, { cancelled: () => false, yieldToLoop: async () => {} });
      let text = "";
      let finish = "";
      while (true) {
        const r = await loop.next();
        if (r.done) {
          finish = r.value.finishReason;
          expect(r.value.generatedTokens).toBeLessThanOrEqual(budget);
          break;
        }
        text += r.value.text;
      }
      expect(constraint).toBeInstanceOf(ThinkingGate);
      const answer = text.slice(text.indexOf("</think>") + "</think>".length).trim();
      expect({ seed, budget, closed: text.includes("</think>"), valid: validate(JSON.parse(answer)), finish }).toEqual({ seed, budget, closed: true, valid: true, finish: "stop" });
    }
    expect(close).toBeGreaterThan(0);
  });
});
