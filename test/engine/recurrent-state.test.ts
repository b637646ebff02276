// A recurrent layer's state (StateCache: LFM2's conv window) in the engine: a snapshot that never trims, so the
// prefix cache reuses it only for an exact cached prefix, and a batch keeps it per row beside the attention layers'
// shared batch cache. The model-level tests run on both hybrid tiny fixtures: lfm2 (conv layers 0, 1, 3; attention
// layer 2) and qwen3_5 (gated delta-net layers 0, 2; attention layers 1, 3).
import { describe, expect, test } from "bun:test";
import * as mx from "../../src/ffi/index.ts";
import { DecodeBatch } from "../../src/engine/decode-batch.ts";
import { generateTokens, type GenerationStats } from "../../src/engine/generate.ts";
import { PrefixCache } from "../../src/engine/prefix-cache.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import { loadModelDir } from "../../src/models/load.ts";
import { disposeCaches, type LayerCache } from "../../src/models/layers/kv-cache.ts";
import { StateCache } from "../../src/models/layers/state-cache.ts";
import type { CausalLM } from "../../src/models/model.ts";
import { listTinyModels, type TinyModel } from "../fixtures/tiny-models.ts";

const models = await listTinyModels();
const lfm2 = models.find((m) => m.name === "lfm2-f32")!;
const hybrids = [lfm2, models.find((m) => m.name === "qwen3_5-f32")!];
const longOf = (m: TinyModel) => m.reference.prompts.find((p) => p.name === "long")!.tokens;
const ctl = { cancelled: () => false, yieldToLoop: async () => {} };

async function run(model: CausalLM, prompt: number[], cache: PrefixCache | undefined, n = 6): Promise<{ tokens: number[]; stats: GenerationStats }> {
  const tokens: number[] = [];
  const loop = generateTokens(model, prompt, { ...GREEDY, maxTokens: n, numCtx: 4096, eosTokenIds: new Set(), prefixCache: cache }, ctl);
  while (true) {
    const r = await loop.next();
    if (r.done) return { tokens, stats: r.value };
    tokens.push(r.value.token);
  }
}

/** Fresh caches holding `tokens` (one forward pass). */
function prefilled(model: CausalLM, tokens: number[]): LayerCache[] {
  const caches = model.makeCache();
  mx.scope(() => mx.eval(model.forward(mx.array(tokens, [1, tokens.length], "int32"), caches)));
  return caches;
}

describe("StateCache", () => {
  test("is a snapshot: it trims nothing, counts the tokens it has seen, and a clone never sees the original's updates", () => {
    const live0 = mx.liveCount();
    const s = new StateCache(2);
    expect([s.state().length, s.nbytes, s.offset]).toEqual([0, 0, 0]);
    mx.scope(() => {
      s.set(0, mx.zeros([1, 2, 8], "float32"));
      s.set(1, mx.ones([1, 4], "float32"));
    });
    s.advance(5);
    expect([s.state().length, s.nbytes, s.offset]).toEqual([2, 2 * 8 * 4 + 4 * 4, 5]);
    expect([s.canTrim(0), s.canTrim(1), s.canTrim(5)]).toEqual([true, false, false]);
    s.trim(0);
    expect(() => s.trim(1)).toThrow("cannot drop");
    const c = s.clone();
    mx.scope(() => c.set(1, mx.full([1, 4], 7, "float32")));
    c.advance(1);
    expect([s.offset, c.offset]).toEqual([5, 6]);
    expect(Array.from(s.get(1)!.toFloat32())).toEqual([1, 1, 1, 1]);
    s[Symbol.dispose](); // the clone keeps its own handles
    expect(Array.from(c.get(1)!.toFloat32())).toEqual([7, 7, 7, 7]);
    expect(Array.from(c.get(0)!.toFloat32())).toEqual(new Array(16).fill(0));
    c[Symbol.dispose]();
    expect(mx.liveCount()).toBe(live0);
  });

  test("a hybrid model's caches: a StateCache per recurrent layer, a KVCache per attention layer", () => {
    const kinds = hybrids.map((m) => {
      using model = loadModelDir(m.dir).model;
      const caches = model.makeCache();
      const names = caches.map((c) => c.constructor.name);
      disposeCaches(caches);
      return names;
    });
    expect(kinds).toEqual([
      ["StateCache", "StateCache", "KVCache", "StateCache"],
      ["StateCache", "KVCache", "StateCache", "KVCache"],
    ]);
  });
});

for (const m of hybrids) describe(`the prefix cache and a recurrent state (${m.name})`, () => {
  const long = longOf(m);
  test("an exact cached prefix is reused; a prompt that shares only part of an entry is prefilled cold, with the cold tokens", async () => {
    using model = loadModelDir(m.dir).model;
    const live0 = mx.liveCount();
    using cache = new PrefixCache(1 << 30);
    const turn1 = await run(model, long.slice(0, 40), cache);
    // The whole entry (the prompt and the answer's tokens fed back) starts the next turn's prompt: taken as it is.
    const turn2Prompt = [...long.slice(0, 40), ...turn1.tokens, ...long.slice(40, 60)];
    const turn2 = await run(model, turn2Prompt, cache);
    expect(turn2.stats.cachedTokens).toBe(40 + turn1.tokens.length - 1);
    expect(turn2.tokens).toEqual((await run(model, turn2Prompt, undefined)).tokens);
    // A branch after 30 tokens, and turn 1's prompt again: both would need the entry trimmed, which a state cannot.
    for (const prompt of [[...long.slice(0, 30), ...long.slice(70, 90)], long.slice(0, 40)]) {
      const warm = await run(model, prompt, cache);
      expect(warm.stats.cachedTokens).toBe(0);
      expect(warm.tokens).toEqual((await run(model, prompt, undefined)).tokens);
    }
    cache.clear();
    expect(mx.liveCount()).toBe(live0);
  });

  test("an entry that a longer one extends stays: the longer one cannot trim to serve its requests", () => {
    using model = loadModelDir(m.dir).model;
    using cache = new PrefixCache(1 << 30);
    const short = long.slice(0, 20);
    const longer = long.slice(0, 35);
    cache.put(short, prefilled(model, short));
    cache.put(longer, prefilled(model, longer));
    expect(cache.stats.entries).toBe(2);
    // A prompt continuing the short entry gets it, exactly; one continuing the longer gets that.
    const a = cache.take([...short, 7, 8], () => model.makeCache());
    expect(a.reused).toBe(20);
    const b = cache.take([...longer, 9], () => model.makeCache());
    expect(b.reused).toBe(35);
    expect(cache.stats.entries).toBe(0);
    disposeCaches(a.caches);
    disposeCaches(b.caches);
  });
});

for (const m of hybrids) describe(`batching with a recurrent state (${m.name})`, () => {
  const long = longOf(m);
  test("rows of different lengths stepped in one forward pass get their logits alone, states kept per row", () => {
    using model = loadModelDir(m.dir).model;
    const live0 = mx.liveCount();
    const prompts = [long.slice(0, 9), long.slice(4, 25), long.slice(7, 8)];
    const next = [[3, 5, 8], [11, 2, 40]];
    const alone = prompts.map((p) => prefilled(model, p));
    const rows = prompts.map((p) => prefilled(model, p));
    const V = m.reference.vocab_size;
    let worst = 0;
    for (const tokens of next) {
      const one = alone.map((c, b) => mx.scope(() => model.forward(mx.array([tokens[b]!], [1, 1], "int32"), c).toFloat32()));
      const all = mx.scope(() => model.forwardRows(mx.array(tokens, [3, 1], "int32"), rows).toFloat32());
      for (let b = 0; b < 3; b++) for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(all[b * V + i]! - one[b]![i]!));
    }
    // Each row's matmuls run in a batch of three: float32 sums in another order at most.
    expect(worst).toBeLessThan(1e-4);
    expect(rows.map((c) => c.map((l) => l.offset))).toEqual(prompts.map((p) => new Array(4).fill(p.length + 2)));
    expect(rows[1]![0]).toBeInstanceOf(StateCache);
    for (const c of [...alone, ...rows]) disposeCaches(c);
    expect(mx.liveCount()).toBe(live0);
  });

  test("prompts arriving together are each prefilled alone (their states cannot drop padding); the decode steps share the attention layers' batch cache", async () => {
    using model = loadModelDir(m.dir).model;
    const prompts = [long.slice(0, 40), long.slice(3, 20), long.slice(9, 70)];
    const alone: number[][] = [];
    for (const p of prompts) alone.push((await run(model, p, undefined, 8)).tokens);
    const batch = new DecodeBatch(model);
    const together = await Promise.all(
      prompts.map(async (prompt) => {
        const tokens: number[] = [];
        const opts = { ...GREEDY, maxTokens: 8, numCtx: 4096, eosTokenIds: new Set<number>(), batch };
        for await (const e of generateTokens(model, prompt, opts, { cancelled: () => false, yieldToLoop: () => new Promise<void>((r) => setImmediate(r)) })) tokens.push(e.token);
        return tokens;
      }),
    );
    expect(together).toEqual(alone);
    expect(batch.prefillPasses).toBe(batch.prefillChunks);
    expect(batch.sharedSteps).toBeGreaterThan(0);
    expect(batch.rows / batch.steps).toBeGreaterThan(1.5);
  });
});
