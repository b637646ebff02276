// Gradient checkpointing (mlx-lm's grad_checkpoint: each transformer block under mx.checkpoint, recomputed in the
// backward pass; ffi/autograd.ts checkpoint() over the shim's mlxs_checkpoint, which calls the block's TS forward
// back again from inside value_and_grad). The loss and every adapter gradient are the ones without it, bit for bit
// (the same ops on the same inputs), LoRA dropout included; a long sequence's step peaks lower; nothing leaks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { checkpoint, cpuKernels, eval as evalArrays, liveCount, memory, multiply, scope, array, sum, valueAndGrad } from "../../src/ffi/index.ts";
import { readAdapterDir } from "../../src/formats/adapter.ts";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { loadAdapter } from "../../src/models/adapter.ts";
import { loadModelDir, readConfig } from "../../src/models/load.ts";
import { dirShapes, freshAdapter, loraTargets } from "../../src/train/init.ts";
import type { DecoderLM } from "../../src/models/model.ts";
import { freeBatch, lossAndGrads, makeBatch, type TrainRow } from "../../src/train/lora.ts";
import { Trainer } from "../../src/train/trainer.ts";
import { tinyAdapters } from "../fixtures/adapters.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";

beforeAll(() => cpuKernels({ use: "mlx" }));
afterAll(() => cpuKernels({ use: "best" }));

const TEXTS = ["The quick brown fox jumps over the lazy dog.", "Hello, world!", "Once upon a time there was a small model that lived on a laptop."];

async function load(name: string) {
  const dir = (await listTinyModels()).find((m) => m.name === name)!.dir;
  const adapterDir = join(await tinyAdapters(), name, "mlx");
  const tokenizer = await Tokenizer.fromFiles(dir);
  const built = loadModelDir(dir, { adapter: loadAdapter(readAdapterDir(adapterDir)) });
  return { ...built, model: built.model as DecoderLM, tokenizer };
}

describe("checkpoint() over a TS function", () => {
  test("values and gradients as without it; the function runs again in the backward pass; nothing leaks", () => {
    const before = liveCount();
    let calls = 0;
    const f = (xs: ReturnType<typeof array>[]) => [multiply(multiply(xs[0]!, xs[0]!), xs[1]!)];
    const run = (withCheckpoint: boolean) =>
      scope(() => {
        const x = array([1, 2, 3], [3], "float32");
        const y = array([4, 5, 6], [3], "float32");
        const { values, grads } = valueAndGrad(
          ([a, b]) => {
            const [z] = withCheckpoint
              ? checkpoint((xs) => {
                  calls++;
                  return f(xs);
                }, [a!, b!])
              : f([a!, b!]);
            return [sum(z!)];
          },
          [x, y],
          [0, 1],
        );
        return [values[0]!.item(), ...grads.map((g) => [...g.toFloat32()])];
      });
    const plain = run(false);
    expect(plain).toEqual([4 + 20 + 54, [8, 20, 36], [1, 4, 9]]);
    expect(run(true)).toEqual(plain);
    expect(calls).toBe(2); // once forward, once recomputed for the gradient
    // outside a gradient it is the function's value
    const once = scope(() => checkpoint((xs) => f(xs), [array([2], [1], "float32"), array([3], [1], "float32")])[0]!.item());
    expect(once).toBe(12);
    expect(liveCount()).toBe(before);
  });

  test("an error in the checkpointed function comes back as that error, the backward pass's included", () => {
    const before = liveCount();
    let calls = 0;
    const attempt = (failOn: number) =>
      scope(() => {
        valueAndGrad(
          ([a]) => [
            sum(
              checkpoint((xs) => {
                if (++calls === failOn) throw new Error(`block failed on call ${failOn}`);
                return [multiply(xs[0]!, xs[0]!)];
              }, [a!])[0]!,
            ),
          ],
          [array([1, 2], [2], "float32")],
          [0],
        );
      });
    calls = 0;
    expect(() => attempt(1)).toThrow("block failed on call 1");
    calls = 0;
    expect(() => attempt(2)).toThrow("block failed on call 2");
    calls = 0;
    expect(() => attempt(3)).not.toThrow();
    expect(liveCount()).toBe(before);
  });
});

describe("LoRA steps with gradient checkpointing", () => {
  for (const name of ["qwen3-f32", "llama-q4"]) {
    for (const drop of [null, { p: 0.2, seed: 9 }]) {
      test(`${name}${drop ? ", dropout 0.2" : ""}: the loss and every gradient as without checkpointing, bit for bit`, async () => {
        const { model, loras, tokenizer } = await load(name);
        const rows: TrainRow[] = TEXTS.map((t, i) => ({ tokens: tokenizer.encode(t), offset: i === 2 ? 3 : 0 }));
        const batch = makeBatch(rows);
        const before = liveCount();
        const grads = (gc: boolean) =>
          scope(() => {
            const r = lossAndGrads(model, loras, batch, drop, gc);
            return { loss: r.loss.item(), grads: r.grads.map((g) => g.toFloat32()) };
          });
        const plain = grads(false);
        const checkpointed = grads(true);
        expect(checkpointed.loss).toBe(plain.loss);
        expect(checkpointed.grads.length).toBe(plain.grads.length);
        checkpointed.grads.forEach((g, i) => expect({ i, same: Buffer.from(g.buffer).equals(Buffer.from(plain.grads[i]!.buffer)) }).toEqual({ i, same: true }));
        expect(plain.grads.some((g) => g.some((v) => v !== 0))).toBe(true);
        expect(liveCount()).toBe(before);
        freeBatch(batch);
        model[Symbol.dispose]();
      });
    }
  }

  test("gemma3-f32, a fresh adapter on every block, rows longer than its sliding window (8): gradients bit for bit", async () => {
    const dir = (await listTinyModels()).find((m) => m.name === "gemma3-f32")!.dir;
    const tokenizer = await Tokenizer.fromFiles(dir);
    const adapter = freshAdapter(loraTargets(dirShapes(dir), readConfig(dir), -1), { rank: 4, scale: 20, numLayers: -1, seed: 3 });
    const { model, loras } = loadModelDir(dir, { adapter });
    const rows: TrainRow[] = TEXTS.map((t) => ({ tokens: tokenizer.encode(t), offset: 0 }));
    expect(Math.max(...rows.map((r) => r.tokens.length))).toBeGreaterThan(8);
    const batch = makeBatch(rows);
    const before = liveCount();
    const grads = (gc: boolean) =>
      scope(() => {
        const r = lossAndGrads(model as DecoderLM, loras, batch, { p: 0.1, seed: 4 }, gc);
        return { loss: r.loss.item(), grads: r.grads.map((g) => g.toFloat32()) };
      });
    const plain = grads(false);
    const checkpointed = grads(true);
    expect(checkpointed.loss).toBe(plain.loss);
    checkpointed.grads.forEach((g, i) => expect({ i, same: Buffer.from(g.buffer).equals(Buffer.from(plain.grads[i]!.buffer)) }).toEqual({ i, same: true }));
    expect(plain.grads.some((g) => g.some((v) => v !== 0))).toBe(true);
    expect(liveCount()).toBe(before);
    freeBatch(batch);
    model[Symbol.dispose]();
  });

  test("a trainer's run with it ends on the same adapters", async () => {
    const { tokenizer } = await load("qwen3-f32");
    const rows: TrainRow[] = TEXTS.map((t) => ({ tokens: tokenizer.encode(t), offset: 0 }));
    const run = async (gradCheckpoint: boolean) => {
      const { model, loras } = await load("qwen3-f32");
      const trainer = new Trainer(model, loras, { learningRate: 1e-2, weightDecay: 0, accumulation: 1, dropout: 0.1, seed: 2, gradCheckpoint });
      for (let it = 1; it <= 3; it++) {
        const batch = makeBatch([rows[it % 3]!, rows[(it + 1) % 3]!]);
        trainer.step(batch, it);
        freeBatch(batch);
      }
      const out = [...loras.values()].map((l) => [l.a.toFloat32(), l.b.toFloat32()]);
      trainer[Symbol.dispose]();
      model[Symbol.dispose]();
      return out;
    };
    expect(await run(true)).toEqual(await run(false));
  });

  test("a long sequence's step peaks lower with it", async () => {
    const { model, loras, tokenizer } = await load("qwen3-f32");
    const base = tokenizer.encode(TEXTS.join(" "));
    const tokens = Array.from({ length: 1024 }, (_, i) => base[i % base.length]!);
    const batch = makeBatch([{ tokens, offset: 0 }, { tokens: tokens.slice(7), offset: 0 }]);
    const peak = (gc: boolean) => {
      memory.clearCache();
      memory.resetPeak();
      const start = memory.active();
      scope(() => {
        const r = lossAndGrads(model, loras, batch, null, gc);
        evalArrays(r.loss, ...r.grads);
      });
      return memory.peak() - start;
    };
    peak(false); // warm-up
    const plain = peak(false);
    const checkpointed = peak(true);
    console.log(`peak above the weights: ${(plain / 1e6).toFixed(1)} MB without, ${(checkpointed / 1e6).toFixed(1)} MB with gradient checkpointing`);
    expect(checkpointed).toBeLessThan(plain * 0.9); // measured 0.76 (qwen3-f32, 2 × 1024 tokens)
    freeBatch(batch);
    model[Symbol.dispose]();
  });
});
