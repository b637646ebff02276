// A full context keeps going, as Ollama's does (issue 21): when the caches hold num_ctx tokens, the first num_keep
// are kept, the oldest half of the rest dropped, and generation continues exactly as a cold prompt of the kept
// tokens would; with shift off it ends ("length"); num_predict -1 stops at 10 × num_ctx. Every architecture.
import { describe, expect, test } from "bun:test";
import * as mx from "../../src/ffi/index.ts";
import { generateTokens, type GenerateOptions, type GenerationStats } from "../../src/engine/generate.ts";
import { PrefixCache } from "../../src/engine/prefix-cache.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import { loadModelDir } from "../../src/models/load.ts";
import type { CausalLM } from "../../src/models/model.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";

const models = await listTinyModels();
const ctl = { cancelled: () => false, yieldToLoop: async () => {} };

async function run(model: CausalLM, prompt: number[], opts: Partial<GenerateOptions>) {
  const tokens: number[] = [];
  const loop = generateTokens(model, prompt, { ...GREEDY, maxTokens: 8, numCtx: 4096, eosTokenIds: new Set(), ...opts }, ctl);
  while (true) {
    const r = await loop.next();
    if (r.done) return { tokens, stats: r.value as GenerationStats };
    tokens.push(r.value.token);
  }
}

describe("context shift", () => {
  for (const m of models) {
    test(`${m.name}: generation past num_ctx continues as a cold prompt of the kept tokens`, async () => {
      using model = loadModelDir(m.dir).model;
      const prompt = m.reference.prompts.find((p) => p.name === "long")!.tokens.slice(0, 20);
      const live0 = mx.liveCount();
      const numCtx = 32;
      const numKeep = 4;
      const wide = await run(model, prompt, { maxTokens: 30 });
      const shifted = await run(model, prompt, { maxTokens: 30, numCtx, numKeep });
      expect(shifted.tokens.length).toBe(30);
      expect(shifted.stats.finishReason).toBe("length");
      // Tokens 1..13 come before the caches are full (20 prompt + 12 fed = 32): the same as with room to spare.
      expect(shifted.tokens.slice(0, 13)).toEqual(wide.tokens.slice(0, 13));
      // Then Ollama's shift: keep 4, free half of the other 28 → drop 14; token 13 is fed to the kept 18.
      const held = [...prompt, ...shifted.tokens.slice(0, 12)];
      const kept = [...held.slice(0, numKeep), ...held.slice(numKeep + 14)];
      const cold = await run(model, [...kept, shifted.tokens[12]!], { maxTokens: 4 });
      expect(shifted.tokens.slice(13, 17)).toEqual(cold.tokens);
      expect(mx.liveCount()).toBe(live0);
    });
  }

  test("shift false ends the generation when the context is full; num_predict -1 stops at 10 × num_ctx", async () => {
    const m = models[0]!;
    using model = loadModelDir(m.dir).model;
    const prompt = m.reference.prompts.find((p) => p.name === "long")!.tokens.slice(0, 20);
    const ended = await run(model, prompt, { maxTokens: 30, numCtx: 32, shift: false });
    // 12 fed after the prompt fill the caches; the 13th is sampled from the full context and is the last.
    expect(ended.tokens.length).toBe(13);
    expect(ended.stats.finishReason).toBe("length");
    const capped = await run(model, prompt, { maxTokens: -1, numCtx: 24 });
    expect(capped.tokens.length).toBe(240);
  });

  test("a shifted sequence goes to the prefix cache under the tokens it holds: a next turn reuses it exactly", async () => {
    const m = models[0]!;
    using model = loadModelDir(m.dir).model;
    const prompt = m.reference.prompts.find((p) => p.name === "long")!.tokens.slice(0, 20);
    using cache = new PrefixCache(1 << 30);
    const opts = { maxTokens: 30, numCtx: 32, numKeep: 4 };
    const first = await run(model, prompt, { ...opts, prefixCache: cache });
    // After the shifts the caches hold the kept tokens and what followed: a prompt that starts the original way
    // shares only the kept head with them, and gets the tokens of a cold run.
    const next = [...prompt, ...first.tokens.slice(0, 4)];
    const warm = await run(model, next, { ...opts, prefixCache: cache });
    const cold = await run(model, next, opts);
    expect(warm.tokens).toEqual(cold.tokens);
    expect(warm.stats.cachedTokens).toBeLessThanOrEqual(4);
  });
});
