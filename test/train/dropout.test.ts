// LoRA dropout (mlx-lm's lora_parameters.dropout: nn.Dropout on each adapter's input while training). A layer's
// forward drops about p of its adapter's inputs and scales the rest by 1 / (1 − p); a run with dropout 0 is the run
// without it, bit for bit; a seeded run with dropout reproduces (the same adapter bytes), and differs from the run
// without it and from another seed's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { array, cpuKernels, liveCount, loadSafetensors, random, saveSafetensors, scope, zeros } from "../../src/ffi/index.ts";
import { readAdapterDir } from "../../src/formats/adapter.ts";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { loadAdapter } from "../../src/models/adapter.ts";
import { Linear } from "../../src/models/layers/linear.ts";
import { loadModelDir } from "../../src/models/load.ts";
import type { DecoderLM } from "../../src/models/model.ts";
import { Weights } from "../../src/models/weights.ts";
import { batchLoss, freeBatch, lossAndGrads, makeBatch, type TrainRow } from "../../src/train/lora.ts";
import { Trainer } from "../../src/train/trainer.ts";
import { tinyAdapters } from "../fixtures/adapters.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";

beforeAll(() => cpuKernels({ use: "mlx" }));
afterAll(() => cpuKernels({ use: "best" }));

const TEXTS = ["The quick brown fox jumps over the lazy dog.", "Hello, world!", "Once upon a time there was a small model.", "A second pass over the rows."];

describe("the dropout of a layer's adapter input", () => {
  for (const p of [0.1, 0.3, 0.5]) {
    test(`p = ${p}: about p of the inputs zeroed in one forward, the rest scaled by 1 / (1 - p)`, () => {
      const IN = 256;
      // a Linear with a zero base and an identity adapter (A = B = I, scale 1): its output is its adapter's input
      const eye = new Float32Array(IN * IN);
      for (let i = 0; i < IN; i++) eye[i * IN + i] = 1;
      const ws = new Weights(
        new Map([
          ["l.weight", zeros([IN, IN], "float32")],
          ["l.lora_a", array(eye, [IN, IN], "float32")],
          ["l.lora_b", array(eye, [IN, IN], "float32")],
        ]),
        null,
        1,
      );
      const layer = Linear.load(ws, "l");
      const lora = ws.loras.get("l")!;
      const before = liveCount();
      const [x, y] = scope(() => {
        const x = random.normal([4, 128, IN], { key: random.key(7) });
        lora.dropout = { p, key: random.key(11) };
        try {
          return [x.toFloat32(), layer.forward(x).toFloat32()];
        } finally {
          lora.dropout = null;
        }
      });
      let zeroed = 0;
      let worstKept = 0;
      for (let i = 0; i < x.length; i++) {
        if (y[i] === 0 && x[i] !== 0) zeroed++;
        else worstKept = Math.max(worstKept, Math.abs(y[i]! - x[i]! / (1 - p)) / Math.max(1e-6, Math.abs(x[i]!)));
      }
      const fraction = zeroed / x.length;
      // 131072 Bernoulli(p) draws: the standard error is at most 0.0014; 5 of them
      expect(Math.abs(fraction - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / x.length));
      expect(worstKept).toBeLessThan(1e-6);
      // without a step's dropout, the same layer passes its input through whole
      const whole = scope(() => layer.forward(array(x, [4, 128, IN], "float32")).toFloat32());
      expect(whole).toEqual(x);
      expect(liveCount()).toBe(before);
      layer[Symbol.dispose]();
    });
  }
});

describe("training with LoRA dropout", () => {
  let dir: string;
  let adapterDir: string;
  let rows: TrainRow[];
  let out: string;
  beforeAll(async () => {
    dir = (await listTinyModels()).find((m) => m.name === "qwen3-f32")!.dir;
    adapterDir = join(await tinyAdapters(), "qwen3-f32", "mlx");
    const tokenizer = await Tokenizer.fromFiles(dir);
    rows = TEXTS.map((t) => ({ tokens: tokenizer.encode(t), offset: 0 }));
    out = mkdtempSync(join(tmpdir(), "ollmlx-dropout-"));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  /** A 6-iteration run from the fixture's adapter; the adapter's file bytes after it. */
  const run = (name: string, o: { dropout?: number; seed?: number }) => {
    const { model, loras } = loadModelDir(dir, { adapter: loadAdapter(readAdapterDir(adapterDir)) });
    const trainer = new Trainer(model as DecoderLM, loras, { learningRate: 1e-2, weightDecay: 0, accumulation: 2, ...o });
    const losses: number[] = [];
    for (let it = 1; it <= 6; it++) {
      const batch = makeBatch([rows[it % rows.length]!, rows[(it + 1) % rows.length]!]);
      losses.push(trainer.step(batch, it).loss);
      freeBatch(batch);
    }
    const tensors = new Map([...loras].flatMap(([path, l]) => [[`${path}.lora_a`, l.a] as const, [`${path}.lora_b`, l.b] as const]));
    const file = join(out, `${name}.safetensors`);
    saveSafetensors(file, tensors);
    trainer[Symbol.dispose]();
    model[Symbol.dispose]();
    return { losses, bytes: readFileSync(file) };
  };

  test("dropout 0 is the run without dropout, bit for bit", () => {
    const before = liveCount();
    const none = run("none", { seed: 3 });
    const zero = run("zero", { dropout: 0, seed: 3 });
    expect(zero.losses).toEqual(none.losses);
    expect(zero.bytes.equals(none.bytes)).toBe(true);
    expect(liveCount()).toBe(before);
  });

  test("a seeded run with dropout reproduces byte for byte, and differs from dropout 0 and from another seed", () => {
    const before = liveCount();
    const a = run("a", { dropout: 0.3, seed: 3 });
    const b = run("b", { dropout: 0.3, seed: 3 });
    const none = run("none", { seed: 3 });
    const other = run("other", { dropout: 0.3, seed: 4 });
    expect(b.losses).toEqual(a.losses);
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(a.bytes.equals(none.bytes)).toBe(false);
    expect(a.losses[0]).not.toBe(none.losses[0]); // the first forward already drops
    expect(other.bytes.equals(a.bytes)).toBe(false);
    expect(liveCount()).toBe(before);
  });

  test("a run with dropout restored from a mid-run checkpoint ends where the uninterrupted one does, bit for bit", () => {
    const file = join(out, "state.safetensors");
    const piece = (from: number, to: number, restore?: number) => {
      const { model, loras } = loadModelDir(dir, { adapter: loadAdapter(readAdapterDir(adapterDir)) });
      const trainer = new Trainer(model as DecoderLM, loras, { learningRate: 1e-2, weightDecay: 0, accumulation: 1, dropout: 0.3, seed: 5 });
      if (restore !== undefined) trainer.restore(loadSafetensors(file).tensors, restore);
      for (let it = from; it <= to; it++) {
        const batch = makeBatch([rows[it % rows.length]!, rows[(it + 1) % rows.length]!]);
        trainer.step(batch, it);
        freeBatch(batch);
      }
      if (to === 3) saveSafetensors(file, trainer.checkpointTensors());
      const params = [...loras.values()].map((l) => [l.a.toFloat32(), l.b.toFloat32()]);
      const updates = trainer.updates;
      trainer[Symbol.dispose]();
      model[Symbol.dispose]();
      return { params, updates };
    };
    const whole = piece(1, 6);
    const first = piece(1, 3);
    expect(piece(4, 6, first.updates).params).toEqual(whole.params);
  });

  test("only the training step drops: the loss outside it is the model's whole loss", () => {
    const { model, loras } = loadModelDir(dir, { adapter: loadAdapter(readAdapterDir(adapterDir)) });
    const batch = makeBatch([rows[0]!, rows[2]!]);
    const lossOf = (drop: { p: number; seed: number } | null) =>
      scope(() => {
        const r = lossAndGrads(model as DecoderLM, loras, batch, drop);
        return r.loss.item();
      });
    const plain = scope(() => batchLoss(model as DecoderLM, batch)[0].item());
    expect(lossOf(null)).toBe(plain);
    const dropped = lossOf({ p: 0.5, seed: 1 });
    expect(dropped).not.toBe(plain);
    expect(lossOf({ p: 0.5, seed: 1 })).toBe(dropped);
    expect([...loras.values()].every((l) => !l.dropout)).toBe(true);
    expect(scope(() => batchLoss(model as DecoderLM, batch)[0].item())).toBe(plain);
    freeBatch(batch);
    model[Symbol.dispose]();
  });
});
