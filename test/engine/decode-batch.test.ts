// Continuous batching (issue 21): sequences that share a runner's decode batch get the tokens they get alone, whoever
// joins or leaves beside them, for every architecture and cache kind (tiny fixtures) and both real GGUF models.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import * as mx from "../../src/ffi/index.ts";
import { DecodeBatch } from "../../src/engine/decode-batch.ts";
import { generateTokens, type GenerateOptions, type GenerationStats } from "../../src/engine/generate.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import { loadGgufModel } from "../../src/engine/completion.ts";
import { loadModelDir } from "../../src/models/load.ts";
import { disposeCaches, KVCache, RotatingKVCache } from "../../src/models/layers/kv-cache.ts";
import { BatchKVCache } from "../../src/models/layers/batch-cache.ts";
import { StateCache } from "../../src/models/layers/state-cache.ts";
import type { CausalLM } from "../../src/models/model.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";

const models = await listTinyModels();
const MODELS = join(import.meta.dir, "../../.deps/models");

interface Run {
  prompt: number[];
  n: number;
  /** starts once the run before it has produced this many tokens */
  after?: number;
  /** cancels itself after this many tokens */
  cancelAfter?: number;
  opts?: Partial<GenerateOptions>;
}

interface Result {
  tokens: number[];
  stats: GenerationStats;
}

async function generate(model: CausalLM, run: Run, batch: DecodeBatch | undefined, onToken: (n: number) => void = () => {}): Promise<Result> {
  let cancelled = false;
  const ctl = { cancelled: () => cancelled, yieldToLoop: () => new Promise<void>((r) => setImmediate(r)) };
  const opts: GenerateOptions = { ...GREEDY, maxTokens: run.n, numCtx: 4096, eosTokenIds: new Set(), batch, ...run.opts };
  const loop = generateTokens(model, run.prompt, opts, ctl);
  const tokens: number[] = [];
  while (true) {
    const r = await loop.next();
    if (r.done) return { tokens, stats: r.value };
    tokens.push(r.value.token);
    onToken(tokens.length);
    if (run.cancelAfter !== undefined && tokens.length >= run.cancelAfter) cancelled = true;
  }
}

/** The runs side by side on one batch, each starting when the one before it has produced `after` tokens (or ended). */
async function together(model: CausalLM, runs: Run[]): Promise<{ results: Result[]; batch: DecodeBatch }> {
  const batch = new DecodeBatch(model);
  const started: Promise<Result>[] = new Array(runs.length);
  const launched: Promise<void>[] = runs.map(() => Promise.resolve());
  const gates = runs.map(() => Promise.withResolvers<void>());
  gates[0]!.resolve();
  for (let i = 0; i < runs.length; i++) {
    launched[i] = gates[i]!.promise.then(() => {
      const opener = gates[i + 1];
      const after = runs[i + 1]?.after;
      if (opener && after === undefined) opener.resolve();
      started[i] = generate(model, runs[i]!, batch, (n) => {
        if (opener && after !== undefined && n >= after) opener.resolve();
      }).finally(() => opener?.resolve());
    });
  }
  await Promise.all(launched);
  return { results: await Promise.all(started), batch };
}

/** One set of caches per prompt, each holding its prompt. */
function prefilledCaches(model: CausalLM, prompts: number[][]) {
  return prompts.map((p) => {
    const caches = model.makeCache();
    mx.scope(() => mx.eval(model.forward(mx.array(p, [1, p.length], "int32"), caches)));
    return caches;
  });
}

function mixedRuns(long: number[]): Run[] {
  return [
    { prompt: long.slice(0, 50), n: 24 },
    { prompt: long.slice(10, 30), n: 12, after: 3 }, // joins mid-stream, leaves early
    { prompt: long.slice(5, 70), n: 16, after: 2 },
    { prompt: long.slice(0, 12), n: 20, cancelAfter: 5 }, // cancelled while the others go on
    { prompt: long.slice(20, 45), n: 10, after: 4 }, // joins after some have left
  ];
}

describe("a sequence decodes the same tokens alone and in a batch", () => {
  for (const m of models) {
    test(`${m.name}: greedy, with sequences joining, leaving and cancelled mid-stream`, async () => {
      using model = loadModelDir(m.dir).model;
      const long = m.reference.prompts.find((p) => p.name === "long")!.tokens;
      const runs = mixedRuns(long);
      const live0 = mx.liveCount();
      const alone: Result[] = [];
      for (const r of runs) alone.push(await generate(model, r, undefined));
      const { results, batch } = await together(model, runs);
      expect(results.map((r) => r.tokens)).toEqual(alone.map((r) => r.tokens));
      expect(results[3]!.stats.finishReason).toBe("cancelled");
      expect(results[0]!.stats.finishReason).toBe("length");
      // They did share steps (more rows than steps), and their full-attention caches one batch cache.
      expect(batch.rows / batch.steps).toBeGreaterThan(1.5);
      expect(batch.sharedSteps).toBeGreaterThan(0);
      expect(batch.size).toBe(0);
      expect(mx.liveCount()).toBe(live0);
    });
  }
});

describe("real GGUF models batch too", () => {
  for (const file of ["smollm2-135m-instruct-q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]) {
    test(`${file}: four sequences side by side give their tokens alone`, async () => {
      using lm = loadGgufModel(file, join(MODELS, file));
      const prompts = ["The capital of France is", "def fibonacci(n):", "Once upon a time", "1, 2, 3, 4,"];
      const runs: Run[] = prompts.map((p, i) => ({ prompt: lm.tokenizer.encodePrompt(p), n: 10 - 2 * i, after: i === 0 ? undefined : 2 }));
      const alone: Result[] = [];
      for (const r of runs) alone.push(await generate(lm.model, r, undefined));
      const { results, batch } = await together(lm.model, runs);
      expect(results.map((r) => r.tokens)).toEqual(alone.map((r) => r.tokens));
      expect(batch.rows / batch.steps).toBeGreaterThan(1.3);
    });
  }
});

describe("prompts that arrive together are prefilled in one pass", () => {
  for (const m of models.filter((x) => x.name.endsWith("-f32") || x.name.endsWith("-q4"))) {
    test(`${m.name}: four prompts of different lengths, each decoding what it decodes alone`, async () => {
      using model = loadModelDir(m.dir).model;
      const long = m.reference.prompts.find((p) => p.name === "long")!.tokens;
      const runs: Run[] = [long.slice(0, 40), long.slice(3, 20), long.slice(9, 70), long.slice(1, 6)].map((prompt) => ({ prompt, n: 8 }));
      const alone: Result[] = [];
      for (const r of runs) alone.push(await generate(model, r, undefined));
      const { results, batch } = await together(model, runs);
      expect(results.map((r) => r.tokens)).toEqual(alone.map((r) => r.tokens));
      // Full-attention caches share the pass; sliding-window ring buffers (gemma3, cohere2) and recurrent states
      // (lfm2), which cannot drop the padding, are prefilled one by one.
      const caches = model.makeCache();
      const rotating = caches.some((c) => c instanceof RotatingKVCache || c instanceof StateCache);
      disposeCaches(caches);
      if (rotating) expect(batch.prefillPasses).toBe(batch.prefillChunks);
      else expect(batch.prefillPasses).toBeLessThan(batch.prefillChunks);
    });
  }
});

test("seeded sampling is reproducible whatever runs beside it", async () => {
  const m = models.find((x) => x.name.startsWith("llama"))!;
  using model = loadModelDir(m.dir).model;
  const long = m.reference.prompts.find((p) => p.name === "long")!.tokens;
  const seeded: Run = { prompt: long.slice(0, 30), n: 20, opts: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 7 } };
  const alone = await generate(model, seeded, undefined);
  const { results } = await together(model, [
    { prompt: long.slice(3, 40), n: 25, opts: { temperature: 0.9, seed: 1 } },
    { ...seeded, after: 2 },
    { prompt: long.slice(0, 8), n: 6, after: 1, opts: { temperature: 0.7 } },
  ]);
  expect(results[1]!.tokens).toEqual(alone.tokens);
});

test("a batched forward pass gives each row the logits it gets alone, within float32 rounding", () => {
  const m = models.find((x) => x.name === "llama-f32") ?? models.find((x) => x.arch === "llama")!;
  using model = loadModelDir(m.dir).model;
  const long = m.reference.prompts.find((p) => p.name === "long")!.tokens;
  const prompts = [long.slice(0, 9), long.slice(4, 25), long.slice(7, 12)];
  const prefilled = () => prefilledCaches(model, prompts);
  const next = [3, 5, 8];
  const aloneCaches = prefilled();
  const alone = aloneCaches.map((c, b) => mx.scope(() => mx.astype(model.forward(mx.array([next[b]!], [1, 1], "int32"), c), "float32").toFloat32()));
  const batchCaches = prefilled();
  const rows = mx.scope(() => mx.astype(model.forwardRows(mx.array(next, [3, 1], "int32"), batchCaches), "float32").toFloat32());
  const V = alone[0]!.length;
  let worst = 0;
  for (let b = 0; b < 3; b++) for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(rows[b * V + i]! - alone[b]![i]!));
  expect(worst).toBeLessThan(1e-4);
  for (const c of [...aloneCaches, ...batchCaches]) for (const l of c) l[Symbol.dispose]();
  expect(batchCaches[1]![0]).toBeInstanceOf(KVCache);
});

test("a padded batch cache gives rows of different lengths their logits alone, and each row its state back", () => {
  const m = models.find((x) => x.name === "llama-f32") ?? models.find((x) => x.arch === "llama")!;
  using model = loadModelDir(m.dir).model;
  const long = m.reference.prompts.find((p) => p.name === "long")!.tokens;
  const prompts = [long.slice(0, 9), long.slice(4, 25), long.slice(7, 8)];
  const prefilled = () => prefilledCaches(model, prompts);
  const steps = [[3, 5, 8], [11, 2, 40]];
  const live0 = mx.liveCount();
  // Alone: each row steps twice on its own caches.
  const aloneCaches = prefilled();
  const alone = steps.map((tokens) =>
    aloneCaches.map((c, b) => mx.scope(() => mx.astype(model.forward(mx.array([tokens[b]!], [1, 1], "int32"), c), "float32").toFloat32())),
  );
  // Batched: one batch cache per layer (left padding 12, 0 and 20), two steps, then the rows take their state back.
  const rowCaches = prefilled();
  const shared = mx.scope(() => rowCaches[0]!.map((_, i) => new BatchKVCache(rowCaches.map((c) => c[i] as KVCache))));
  expect(shared[0]!.offsets()).toEqual([9, 21, 1]);
  let worst = 0;
  const V = alone[0]![0]!.length;
  for (const [s, tokens] of steps.entries()) {
    const rows = mx.scope(() => mx.astype(model.forwardRows(mx.array(tokens, [3, 1], "int32"), rowCaches, shared), "float32").toFloat32());
    for (let b = 0; b < 3; b++) for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(rows[b * V + i]! - alone[s]![b]![i]!));
  }
  expect(worst).toBeLessThan(1e-4);
  mx.scope(() => shared.forEach((batched, i) => rowCaches.forEach((c, b) => batched.writeBack(b, c[i] as KVCache))));
  for (const s of shared) s[Symbol.dispose]();
  expect(rowCaches.map((c) => c[0]!.offset)).toEqual([11, 23, 3]);
  // A third step alone on the given-back caches matches the never-batched rows.
  for (let b = 0; b < 3; b++) {
    const [x, y] = [aloneCaches[b]!, rowCaches[b]!].map((c) => mx.scope(() => mx.astype(model.forward(mx.array([17], [1, 1], "int32"), c), "float32").toFloat32()));
    for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(x![i]! - y![i]!));
  }
  expect(worst).toBeLessThan(1e-4);
  for (const c of [...aloneCaches, ...rowCaches]) for (const l of c) l[Symbol.dispose]();
  expect(mx.liveCount()).toBe(live0);
});

test("a prompt waiting to be prefilled runs before the next decode step, not after it", async () => {
  const m = models.find((x) => x.name.startsWith("llama") && x.name.endsWith("-f32"))!;
  using model = loadModelDir(m.dir).model;
  const long = m.reference.prompts.find((p) => p.name === "long")!.tokens;
  const batch = new DecodeBatch(model);
  const decoding = model.makeCache();
  const arriving = model.makeCache();
  await batch.prefill(long.slice(0, 10), decoding);
  using member = batch.join();
  const order: string[] = [];
  const input = mx.array([long[10]!], [1], "int32");
  // The prefill is queued first (for the next turn of the event loop); the member's step comes in right after it.
  const prefilled = batch.prefill(long.slice(0, 7), arriving).then(() => order.push("prefill"));
  const stepped = member.step(input, decoding).then((row) => {
    order.push("step");
    row.free();
  });
  await Promise.all([prefilled, stepped]);
  expect(order).toEqual(["prefill", "step"]);
  input.free();
  disposeCaches(decoding);
  disposeCaches(arriving);
});

test("a sequence's first token comes from its prompt's last pass, not a decode step: it goes out before the batch steps again", async () => {
  const m = models.find((x) => x.name.startsWith("llama") && x.name.endsWith("-f32"))!;
  using model = loadModelDir(m.dir).model;
  const long = m.reference.prompts.find((p) => p.name === "long")!.tokens;
  const alone = new DecodeBatch(model);
  // One token: prefill passes only. Three tokens: two steps.
  await generate(model, { prompt: long.slice(0, 9), n: 1 }, alone);
  expect([alone.steps, alone.prefillPasses]).toEqual([0, 2]);
  await generate(model, { prompt: long.slice(0, 9), n: 3 }, alone);
  expect(alone.steps).toBe(2);
  // Beside two long generations: from the moment it is launched to its first token, the batch steps at most once
  // (the step that runs its waiting prefill first).
  const batch = new DecodeBatch(model);
  let launchedAt = -1;
  let firstAt = -1;
  const short = Promise.withResolvers<Result>();
  const others = [0, 1].map((i) =>
    generate(model, { prompt: long.slice(i, 12 + i), n: 24 }, batch, (n) => {
      if (i === 1 && n === 6) {
        launchedAt = batch.steps;
        generate(model, { prompt: long.slice(3, 14), n: 4 }, batch, (k) => {
          if (k === 1) firstAt = batch.steps;
        }).then(short.resolve, short.reject);
      }
    }),
  );
  await Promise.all([...others, short.promise]);
  expect(launchedAt).toBeGreaterThan(0);
  expect(firstAt - launchedAt).toBeLessThanOrEqual(1);
});
