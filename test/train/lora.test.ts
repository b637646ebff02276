// LoRA training against mlx-lm on the tiny models, from the same initial adapters and the same batch
// (test/fixtures/lora_train_oracle.py): the loss and every gradient of the first step, then five Adam steps'
// losses and the adapters after them. A float32 base and a 4-bit one (QLoRA); MLX's own ops, as mlx-lm runs them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cpuKernels, liveCount } from "../../src/ffi/index.ts";
import { readAdapterDir } from "../../src/formats/adapter.ts";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { loadAdapter } from "../../src/models/adapter.ts";
import { loadModelDir } from "../../src/models/load.ts";
import { DecoderLM } from "../../src/models/model.ts";
import { Adam } from "../../src/train/adam.ts";
import { freeBatch, lossAndGrads, makeBatch, trainStep, type TrainRow } from "../../src/train/lora.ts";
import { tinyAdapters } from "../fixtures/adapters.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";
import { REPO_ROOT, runOracleScript } from "../oracle.ts";

beforeAll(() => cpuKernels({ use: "mlx" })); // the shim's CPU primitives have no gradients: training runs MLX's ops
afterAll(() => cpuKernels({ use: "best" }));

const TEXTS = ["The quick brown fox jumps over the lazy dog.", "Hello, world!", "Once upon a time there was a small model that lived on a laptop."];
const STEPS = 5;
const LR = 1e-2;
// relative to each tensor's largest value; measured 0 (the same MLX ops in the same order: bit for bit) on both bases
const TOLERANCE = 1e-6;

interface Oracle {
  loss: number;
  ntoks: number;
  grads: Record<string, number[]>;
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

describe("LoRA training", () => {
  for (const base of ["qwen3-f32", "llama-q4"]) {
    test(`${base}: loss and gradients of a padded batch, then ${STEPS} Adam steps, as mlx-lm's`, async () => {
      const dir = (await listTinyModels()).find((m) => m.name === base)!.dir;
      const adapterDir = join(await tinyAdapters(), base, "mlx");
      const tokenizer = await Tokenizer.fromFiles(dir);
      const rows: TrainRow[] = TEXTS.map((t, i) => ({ tokens: tokenizer.encode(t), offset: i === 2 ? 4 : 0 }));
      const T = Math.max(...rows.map((r) => r.tokens.length));
      const oracle = runOracleScript<Oracle>(join(REPO_ROOT, "test/fixtures/lora_train_oracle.py"), {
        model: dir,
        adapter: adapterDir,
        batch: rows.map((r) => [...r.tokens, ...new Array(T - r.tokens.length).fill(0)]),
        lengths: rows.map((r) => [r.offset, r.tokens.length]),
        steps: STEPS,
        learning_rate: LR,
      });

      const before = liveCount();
      const { model, loras } = loadModelDir(dir, { adapter: loadAdapter(readAdapterDir(adapterDir)) });
      expect(model).toBeInstanceOf(DecoderLM);
      const lm = model as DecoderLM;
      expect([...loras.keys()].length * 2).toBe(Object.keys(oracle.grads).length);
      const batch = makeBatch(rows);
      const first = lossAndGrads(lm, loras, batch);
      expect(first.ntoks.item()).toBe(oracle.ntoks);
      expect(first.loss.item()).toBeCloseTo(oracle.loss, 4);
      [...loras.keys()].forEach((path, i) => {
        for (const [k, leaf] of [[2 * i, "lora_a"], [2 * i + 1, "lora_b"]] as const) {
          const name = `${path}.${leaf}`;
          expect({ name, within: worstRelative(first.grads[k]!.toFloat32(), oracle.grads[name]!) <= TOLERANCE }).toEqual({ name, within: true });
        }
      });
      for (const a of [first.loss, first.ntoks, ...first.grads]) a.free();

      using adam = new Adam({ learningRate: LR });
      const losses = Array.from({ length: STEPS }, () => trainStep(lm, loras, adam, batch).loss);
      losses.forEach((l, i) => expect({ step: i, loss: l }).toEqual({ step: i, loss: expect.closeTo(oracle.losses[i]!, 5) }));
      expect(losses.at(-1)!).toBeLessThan(losses[0]!); // it learns the batch
      for (const [path, l] of loras) {
        expect(worstRelative(l.a.toFloat32(), oracle.params[`${path}.lora_a`]!)).toBeLessThanOrEqual(TOLERANCE);
        expect(worstRelative(l.b.toFloat32(), oracle.params[`${path}.lora_b`]!)).toBeLessThanOrEqual(TOLERANCE);
      }
      freeBatch(batch);
      adam[Symbol.dispose]();
      model[Symbol.dispose]();
      expect(liveCount()).toBe(before); // five steps left nothing behind
    });
  }
});
