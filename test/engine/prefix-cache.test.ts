// The prefix cache (issue 21): a request that reuses cached KV state gives the same tokens as a cold prefill,
// for every architecture and cache kind the engine has, and the cache stays within its byte cap.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import * as mx from "../../src/ffi/index.ts";
import { generateTokens, type GenerationStats } from "../../src/engine/generate.ts";
import { PrefixCache } from "../../src/engine/prefix-cache.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import { loadGgufModel } from "../../src/engine/completion.ts";
import { loadModelDir } from "../../src/models/load.ts";
import type { CausalLM } from "../../src/models/model.ts";
import { disposeCaches, RotatingKVCache } from "../../src/models/layers/kv-cache.ts";
import { StateCache } from "../../src/models/layers/state-cache.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";

const models = await listTinyModels();
const ctl = { cancelled: () => false, yieldToLoop: async () => {} };

async function run(model: CausalLM, prompt: number[], cache: PrefixCache | undefined, n = 6, extra = {}) {
  const tokens: number[] = [];
  const loop = generateTokens(model, prompt, { ...GREEDY, maxTokens: n, numCtx: 4096, eosTokenIds: new Set(), prefixCache: cache, ...extra }, ctl);
  let stats: GenerationStats;
  while (true) {
    const r = await loop.next();
    if (r.done) {
      stats = r.value;
      break;
    }
    tokens.push(r.value.token);
  }
  return { tokens, stats };
}

describe("a reused prefix gives the tokens of a cold prefill", () => {
  for (const m of models) {
    test(`${m.name}: the next turn (cache taken whole) and a branch (cache cloned and trimmed)`, async () => {
      using model = loadModelDir(m.dir).model;
      const long = m.reference.prompts.find((p) => p.name === "long")!.tokens;
      const live0 = mx.liveCount();
      using cache = new PrefixCache(1 << 30);
      // Turn 1: the first 60 tokens. Turn 2: turn 1, its answer, then 20 more tokens (a chat's next turn).
      const turn1 = await run(model, long.slice(0, 60), cache);
      expect(turn1.stats.cachedTokens).toBe(0);
      const turn2Prompt = [...long.slice(0, 60), ...turn1.tokens, ...long.slice(60, 80)];
      const turn2 = await run(model, turn2Prompt, cache);
      const cold2 = await run(model, turn2Prompt, undefined);
      expect(turn2.tokens).toEqual(cold2.tokens);
      // Turn 1's state holds its prompt and the answer's tokens fed back (the last one was never fed).
      expect(turn2.stats.cachedTokens).toBe(60 + turn1.tokens.length - 1);
      // A branch: the same first 40 tokens, then something else. Every cache but a wrapped ring buffer trims.
      const branch = [...long.slice(0, 40), ...long.slice(80, 100)];
      const warm = await run(model, branch, cache);
      const cold = await run(model, branch, undefined);
      expect(warm.tokens).toEqual(cold.tokens);
      // sliding window 8 (gemma3, cohere2): their ring buffers have overwritten positions by now; a recurrent
      // state (lfm2) never trims
      const caches = model.makeCache();
      const wraps = caches.some((c) => c instanceof RotatingKVCache || c instanceof StateCache);
      disposeCaches(caches);
      expect(warm.stats.cachedTokens).toBe(wraps ? 0 : 40);
      cache.clear();
      expect(mx.liveCount()).toBe(live0);
    });
  }
});

test("seeded sampling with a reused prefix draws the same tokens as without", async () => {
  const m = models.find((x) => x.name === "qwen3-f32")!;
  using model = loadModelDir(m.dir).model;
  const prompt = m.reference.prompts.find((p) => p.name === "long")!.tokens;
  using cache = new PrefixCache(1 << 30);
  const sampled = { ...GREEDY, temperature: 0.9, topK: 20, seed: 7 };
  await run(model, prompt.slice(0, 50), cache, 4, sampled);
  const warm = await run(model, prompt, cache, 12, sampled);
  const cold = await run(model, prompt, undefined, 12, sampled);
  expect(warm.stats.cachedTokens).toBeGreaterThan(0);
  expect(warm.tokens).toEqual(cold.tokens);
});

test("the real SmolLM2 GGUF: a chat's second turn reuses the first and answers as a cold prefill does", async () => {
  using lm = loadGgufModel("smollm2", join(import.meta.dir, "../../.deps/models/smollm2-135m-instruct-q4_1.gguf"));
  const tok = lm.tokenizer;
  using cache = new PrefixCache(1 << 30);
  const turn1Prompt = tok.encode("<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n", { addSpecialTokens: false });
  const turn1 = await run(lm.model, turn1Prompt, cache, 8);
  const turn2Prompt = [...turn1Prompt, ...turn1.tokens, ...tok.encode("<|im_end|>\n<|im_start|>user\nAnd three more.<|im_end|>\n<|im_start|>assistant\n", { addSpecialTokens: false })];
  const warm = await run(lm.model, turn2Prompt, cache, 8);
  const cold = await run(lm.model, turn2Prompt, undefined, 8);
  expect(warm.stats.cachedTokens).toBe(turn1Prompt.length + 7);
  expect(warm.tokens).toEqual(cold.tokens);
}, 120_000);

test("overfilled, the cache holds no more than its byte cap, evicting the least recently used", async () => {
  const m = models.find((x) => x.name === "llama-f32")!;
  using model = loadModelDir(m.dir).model;
  const long = m.reference.prompts.find((p) => p.name === "long")!.tokens;
  const live0 = mx.liveCount();
  // One entry of this model: 2 layers x K and V x 256 positions (one allocation step) x kv dims x 4 bytes.
  const probe = new PrefixCache(1 << 30);
  await run(model, long.slice(0, 10), probe, 1);
  const entryBytes = probe.stats.bytes;
  probe.clear();
  expect(entryBytes).toBeGreaterThan(0);
  using cache = new PrefixCache(Math.floor(entryBytes * 2.5));
  for (let i = 0; i < 6; i++) {
    // Prompts that share nothing: six distinct entries offered, two fit.
    await run(model, [i + 1, ...long.slice(10 * i, 10 * i + 10)], cache, 1);
    expect(cache.stats.bytes).toBeLessThanOrEqual(cache.capBytes);
  }
  expect(cache.stats.entries).toBe(2);
  // The newest two stayed: the fifth prompt is found again, the first is not.
  expect((await run(model, [5, ...long.slice(40, 50), 9], cache, 1)).stats.cachedTokens).toBe(11);
  expect((await run(model, [1, ...long.slice(0, 10), 9], cache, 1)).stats.cachedTokens).toBe(0);
  cache.clear();
  expect(cache.stats).toEqual({ entries: 0, bytes: 0, capBytes: cache.capBytes, handles: 0 });
  expect(mx.liveCount()).toBe(live0);
});
