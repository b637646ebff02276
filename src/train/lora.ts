// LoRA training steps on a DecoderLM whose Linears carry trainable adapters (models/layers/linear.ts, built with
// an adapter: the base frozen, dense or quantized — QLoRA — and each A, B float32). The loss is mlx-lm's
// default_loss: the masked cross-entropy of each next token, summed over the batch's target tokens and divided by
// their count; the mask is `offset <= step < length` (mlx-lm's `<=` also counts one padding target per row,
// ml-explore/mlx-lm#1697). Gradients come from MLX's reverse mode over this TS forward (ffi/autograd.ts), the update
// from Adam (adam.ts), and every array a step makes is freed by the next. With LoRA dropout (mlx-lm's
// lora_parameters.dropout) each adapter drops its input during the step's forward only, with a key of its own drawn
// from the step's seed: a seeded run reproduces, a resumed one included; evaluation never drops. With gradient
// checkpointing (mlx-lm's grad_checkpoint) each transformer block runs under mx.checkpoint, its adapters' A and B
// as the checkpoint's inputs (as mlx-lm passes the trainable parameters), so its activations are recomputed in the
// backward pass instead of kept: less memory, one more block forward per step.
import { array, astype, checkpoint, divide, eval as evalArrays, expandDims, logsumexp, multiply, persist, random, scope, squeeze, subtract, sum, takeAlongAxis, valueAndGrad, type MxArray } from "../ffi/index.ts";
import type { Lora } from "../models/layers/linear.ts";
import type { BlockWrap, DecoderLM } from "../models/model.ts";
import type { Adam } from "./adam.ts";
import { mixSeed } from "./rng.ts";

/** LoRA dropout for one step: the probability, and the step's seed (each adapter's key is drawn from it). */
export interface StepDropout {
  p: number;
  seed: number;
}

/** One training row: its tokens, and the first token position the loss counts (mask_prompt's prompt length). */
export interface TrainRow {
  tokens: readonly number[];
  offset: number;
}

/** A batch as the loss reads it: inputs and targets (B, T − 1), right-padded with 0, and the target mask. */
export interface Batch {
  inputs: MxArray;
  targets: MxArray;
  mask: MxArray;
}

/** Rows right-padded to their longest (each at most maxLength tokens, cut as mlx-lm cuts them). */
export function makeBatch(rows: readonly TrainRow[], maxLength = Infinity): Batch {
  const cut = rows.map((r) => ({ tokens: r.tokens.slice(0, maxLength), offset: r.offset }));
  const T = Math.max(...cut.map((r) => r.tokens.length));
  if (T < 2) throw new RangeError("a training row needs at least two tokens");
  const B = cut.length;
  const inputs = new Int32Array(B * (T - 1));
  const targets = new Int32Array(B * (T - 1));
  const mask = new Float32Array(B * (T - 1));
  cut.forEach((r, b) => {
    for (let t = 0; t < T - 1; t++) {
      inputs[b * (T - 1) + t] = r.tokens[t] ?? 0;
      targets[b * (T - 1) + t] = r.tokens[t + 1] ?? 0;
      const step = t + 1;
      mask[b * (T - 1) + t] = step >= r.offset && step < r.tokens.length ? 1 : 0;
    }
  });
  return {
    inputs: persist(array(inputs, [B, T - 1], "int32")),
    targets: persist(array(targets, [B, T - 1], "int32")),
    mask: persist(array(mask, [B, T - 1], "float32")),
  };
}

export function freeBatch(b: Batch): void {
  for (const a of [b.inputs, b.targets, b.mask]) a.free();
}

/** [loss, target tokens] of the model on a batch. */
export function batchLoss(model: DecoderLM, batch: Batch, wrap?: BlockWrap): [MxArray, MxArray] {
  const logits = astype(model.forwardCausal(batch.inputs, wrap), "float32");
  const picked = squeeze(takeAlongAxis(logits, expandDims(batch.targets, -1), -1), [-1]);
  const ce = multiply(subtract(logsumexp(logits, [-1]), picked), batch.mask);
  const ntoks = sum(batch.mask);
  return [divide(sum(ce), ntoks), ntoks];
}

/** The trainable arrays, in order: each adapter's A then B. */
export function loraParams(loras: ReadonlyMap<string, Lora>): MxArray[] {
  return [...loras.values()].flatMap((l) => [l.a, l.b]);
}

/** Each block under mx.checkpoint, the adapters inside it (by their `layers.N.` path) as its inputs. */
function checkpointedBlocks(loras: ReadonlyMap<string, Lora>): BlockWrap {
  const byBlock = new Map<number, Lora[]>();
  for (const [path, l] of loras) {
    const m = /(?:^|\.)layers\.(\d+)\./.exec(path);
    if (m) byBlock.set(Number(m[1]), [...(byBlock.get(Number(m[1])) ?? []), l]);
  }
  return (i, h, mask, run) => {
    const mine = byBlock.get(i) ?? [];
    const drops = mine.map((l) => l.dropout ?? null);
    // the mask and the dropout keys are constants the recomputation reads again
    const keep = [...(mask === "causal" ? [] : [mask]), ...drops.flatMap((d) => (d ? [d.key] : []))];
    const [out] = checkpoint(
      (xs, kept) => {
        let k = 0;
        const m = mask === "causal" ? "causal" : kept[k++]!;
        const saved = mine.map((l) => [l.a, l.b, l.dropout] as const);
        mine.forEach((l, j) => {
          l.a = xs[1 + 2 * j]!;
          l.b = xs[2 + 2 * j]!;
          const d = drops[j];
          l.dropout = d ? { p: d.p, key: kept[k++]! } : null;
        });
        try {
          return [run(xs[0]!, m)];
        } finally {
          mine.forEach((l, j) => {
            [l.a, l.b, l.dropout] = saved[j]!;
          });
        }
      },
      [h, ...mine.flatMap((l) => [l.a, l.b])],
      keep,
    );
    return out!;
  };
}

/**
 * The loss and its gradients w.r.t. every adapter's A and B (in loraParams' order); nothing is updated. `drop`:
 * this step's LoRA dropout; `gradCheckpoint`: each block under mx.checkpoint (the same gradients, less memory).
 */
export function lossAndGrads(model: DecoderLM, loras: ReadonlyMap<string, Lora>, batch: Batch, drop?: StepDropout | null, gradCheckpoint = false): { loss: MxArray; ntoks: MxArray; grads: MxArray[] } {
  const list = [...loras.values()];
  const wrap = gradCheckpoint ? checkpointedBlocks(loras) : undefined;
  const params = loraParams(loras);
  const { values, grads } = valueAndGrad(
    (traced) => {
      // the model reads each Lora's A and B when it runs: the traced copies, for this one pass
      const saved = list.map((l) => [l.a, l.b] as const);
      list.forEach((l, i) => {
        l.a = traced[2 * i]!;
        l.b = traced[2 * i + 1]!;
        // the keys are this pass's temporaries (freed with it)
        if (drop && drop.p > 0) l.dropout = { p: drop.p, key: random.key(mixSeed(drop.seed, i)) };
      });
      try {
        return batchLoss(model, batch, wrap);
      } finally {
        list.forEach((l, i) => {
          [l.a, l.b] = saved[i]!;
          l.dropout = null;
        });
      }
    },
    params,
    params.map((_, i) => i),
  );
  return { loss: values[0]!, ntoks: values[1]!, grads };
}

/** One optimizer step: the adapters' A and B replaced by their updated arrays. Returns the step's loss and tokens. */
export function trainStep(model: DecoderLM, loras: ReadonlyMap<string, Lora>, optimizer: Adam, batch: Batch, learningRate?: number, drop?: StepDropout | null): { loss: number; ntoks: number } {
  const params = loraParams(loras);
  const { loss, ntoks, next } = scope(() => {
    const r = lossAndGrads(model, loras, batch, drop);
    return { loss: r.loss, ntoks: r.ntoks, next: optimizer.update(params, r.grads, learningRate) };
  });
  evalArrays(...next, ...optimizer.state(), loss, ntoks);
  replaceParams(loras, next);
  const out = { loss: loss.item(), ntoks: ntoks.item() };
  loss.free();
  ntoks.free();
  return out;
}

/** Each adapter's A and B replaced by `next` (in loraParams' order, owned from now on); the old ones freed. */
export function replaceParams(loras: ReadonlyMap<string, Lora>, next: readonly MxArray[]): void {
  [...loras.values()].forEach((l, i) => {
    l.a.free();
    l.b.free();
    l.a = next[2 * i]!;
    l.b = next[2 * i + 1]!;
  });
}

/** The names of loraParams' arrays, as mlx-lm's adapter file names them. */
export function loraParamNames(loras: ReadonlyMap<string, Lora>): string[] {
  return [...loras.keys()].flatMap((p) => [`${p}.lora_a`, `${p}.lora_b`]);
}
