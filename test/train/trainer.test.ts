// The training loop against mlx-lm's own trainer (test/fixtures/lora_trainer_oracle.py: tuner/trainer.py train,
// compiled step and all), fed the same batches from the same adapter: gradient accumulation (a partial one left at
// the end, dropped as mlx-lm drops it) and learning-rate schedules with warmup, each iteration's reported rate and
// loss, and the adapters after the run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cpuKernels, liveCount, loadSafetensors, saveSafetensors } from "../../src/ffi/index.ts";
import { readAdapterDir } from "../../src/formats/adapter.ts";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { loadAdapter } from "../../src/models/adapter.ts";
import { loadModelDir } from "../../src/models/load.ts";
import type { DecoderLM } from "../../src/models/model.ts";
import { freeBatch, makeBatch, type TrainRow } from "../../src/train/lora.ts";
import type { LrSchedule } from "../../src/train/schedule.ts";
import { Trainer } from "../../src/train/trainer.ts";
import { tinyAdapters } from "../fixtures/adapters.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";
import { REPO_ROOT, runOracleScript } from "../oracle.ts";

beforeAll(() => cpuKernels({ use: "mlx" }));
afterAll(() => cpuKernels({ use: "best" }));

const TEXTS = ["The quick brown fox jumps over the lazy dog.", "Hello, world!", "Once upon a time there was a small model.", "A second pass over the rows."];
// relative to each tensor's largest value; measured 0 on all three runs (bit for bit with mlx-lm's compiled step)
const TOLERANCE = 1e-6;

interface Oracle {
  learning_rates: number[];
  losses: number[];
  params: Record<string, number[]>;
}

function worstRelative(ours: Float32Array, want: number[]): number {
  let scale = 1e-6;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - want[i]!));
  return worst / scale;
}

const RUNS: { name: string; iters: number; accumulation: number; learningRate: number; schedule: LrSchedule | null }[] = [
  { name: "gradients accumulated over 3 iterations, a partial accumulation at the end", iters: 8, accumulation: 3, learningRate: 1e-2, schedule: null },
  { name: "cosine decay after 2 warmup steps from 1e-3, accumulating 2", iters: 12, accumulation: 2, learningRate: 0, schedule: { name: "cosine_decay", arguments: [2e-2, 3, 1e-3], warmup: 2, warmup_init: 1e-3 } },
  { name: "linear schedule from step 0 (no warmup), no accumulation", iters: 5, accumulation: 1, learningRate: 0, schedule: { name: "linear_schedule", arguments: [1e-2, 2e-3, 3] } },
];

describe("training loop against mlx-lm's trainer", () => {
  for (const run of RUNS) {
    test(`${run.name}: rates, losses and the adapters as mlx-lm's`, async () => {
      const dir = (await listTinyModels()).find((m) => m.name === "qwen3-f32")!.dir;
      const adapterDir = join(await tinyAdapters(), "qwen3-f32", "mlx");
      const tokenizer = await Tokenizer.fromFiles(dir);
      const rows: TrainRow[] = TEXTS.map((t, i) => ({ tokens: tokenizer.encode(t), offset: i === 2 ? 3 : 0 }));
      const groups = [[rows[0]!, rows[1]!], [rows[2]!, rows[3]!], [rows[1]!, rows[3]!]];
      const padded = groups.map((g) => {
        const T = Math.max(...g.map((r) => r.tokens.length));
        return { batch: g.map((r) => [...r.tokens, ...new Array(T - r.tokens.length).fill(0)]), lengths: g.map((r) => [r.offset, r.tokens.length]) };
      });
      const oracle = runOracleScript<Oracle>(join(REPO_ROOT, "test/fixtures/lora_trainer_oracle.py"), {
        model: dir,
        adapter: adapterDir,
        batches: padded,
        iters: run.iters,
        learning_rate: run.learningRate,
        lr_schedule: run.schedule,
        grad_accumulation_steps: run.accumulation,
      });

      const before = liveCount();
      const { model, loras } = loadModelDir(dir, { adapter: loadAdapter(readAdapterDir(adapterDir)) });
      const trainer = new Trainer(model as DecoderLM, loras, {
        learningRate: run.learningRate,
        weightDecay: 0,
        accumulation: run.accumulation,
        ...(run.schedule ? { schedule: run.schedule } : {}),
      });
      const rates: number[] = [];
      const losses: number[] = [];
      for (let it = 1; it <= run.iters; it++) {
        const batch = makeBatch(groups[(it - 1) % groups.length]!);
        losses.push(trainer.step(batch, it).loss);
        rates.push(trainer.learningRate);
        freeBatch(batch);
      }
      expect(rates).toEqual(oracle.learning_rates); // float32 values, exactly
      losses.forEach((l, i) => expect({ it: i + 1, loss: l }).toEqual({ it: i + 1, loss: expect.closeTo(oracle.losses[i]!, 5) }));
      expect(trainer.updates).toBe(Math.floor(run.iters / run.accumulation));
      for (const [path, l] of loras) {
        expect({ path, a: worstRelative(l.a.toFloat32(), oracle.params[`${path}.lora_a`]!) <= TOLERANCE }).toEqual({ path, a: true });
        expect({ path, b: worstRelative(l.b.toFloat32(), oracle.params[`${path}.lora_b`]!) <= TOLERANCE }).toEqual({ path, b: true });
      }
      trainer[Symbol.dispose]();
      model[Symbol.dispose]();
      expect(liveCount()).toBe(before);
    });
  }
});

describe("checkpoints", () => {
  test("a trainer restored from a checkpoint taken mid-accumulation ends where an uninterrupted one does, bit for bit", async () => {
    const dir = (await listTinyModels()).find((m) => m.name === "qwen3-f32")!.dir;
    const adapterDir = join(await tinyAdapters(), "qwen3-f32", "mlx");
    const tokenizer = await Tokenizer.fromFiles(dir);
    const rows: TrainRow[] = TEXTS.map((t) => ({ tokens: tokenizer.encode(t), offset: 0 }));
    const options = { learningRate: 0, weightDecay: 0, accumulation: 3, schedule: { name: "cosine_decay", arguments: [2e-2, 4], warmup: 1 } as LrSchedule };
    const ITERS = 10;
    const STOP = 5; // 5 % 3 = 2: two batches' gradients are waiting for the third
    const file = join(mkdtempSync(join(tmpdir(), "ollmlx-ckpt-")), "state.safetensors");
    const run = (from: number, to: number, restore?: number) => {
      const { model, loras } = loadModelDir(dir, { adapter: loadAdapter(readAdapterDir(adapterDir)) });
      const trainer = new Trainer(model as DecoderLM, loras, options);
      if (restore !== undefined) trainer.restore(loadSafetensors(file).tensors, restore);
      for (let it = from; it <= to; it++) {
        const batch = makeBatch([rows[it % rows.length]!, rows[(it + 1) % rows.length]!]);
        trainer.step(batch, it);
        freeBatch(batch);
      }
      if (to === STOP) saveSafetensors(file, trainer.checkpointTensors());
      const out = { updates: trainer.updates, rate: trainer.learningRate, params: [...loras.values()].map((l) => [l.a.toFloat32(), l.b.toFloat32()]) };
      trainer[Symbol.dispose]();
      model[Symbol.dispose]();
      return out;
    };
    const whole = run(1, ITERS);
    const first = run(1, STOP);
    expect(first.updates).toBe(1);
    const resumed = run(STOP + 1, ITERS, first.updates);
    expect(resumed.updates).toBe(whole.updates);
    expect(resumed.rate).toBe(whole.rate);
    expect(resumed.params).toEqual(whole.params);
    rmSync(dirname(file), { recursive: true, force: true });
  });
});
