// One training iteration as mlx-lm's trainer runs it (tuner/trainer.py train): the batch's loss and gradients are
// added to the gradients accumulated since the last update; on every `accumulation`-th iteration (it % N == 0)
// their mean (the sum divided by N when N > 1) goes to Adam at the scheduled rate. Like mlx-lm, a partial
// accumulation at the end of a run is dropped. The reported rate is mlx-lm's `optimizer.learning_rate`: the last
// update's, or step 0's before the first. Everything a resumed run needs is in checkpointTensors() and `updates`
// (LoRA dropout's masks come from the run's seed and the iteration number, so a resumed run draws the same ones).
import { add, divide, eval as evalArrays, persist, scope, type MxArray } from "../ffi/index.ts";
import type { Lora } from "../models/layers/linear.ts";
import type { DecoderLM } from "../models/model.ts";
import { Adam } from "./adam.ts";
import { rateAt, type RateAt } from "./lr.ts";
import { lossAndGrads, loraParamNames, loraParams, replaceParams, type Batch } from "./lora.ts";
import { mixSeed } from "./rng.ts";
import type { LrSchedule } from "./schedule.ts";

export interface TrainerOptions {
  learningRate: number;
  weightDecay: number;
  /** mlx-lm's grad_accumulation_steps */
  accumulation: number;
  schedule?: LrSchedule;
  /** ollmlx's linear warmup to a constant rate (without a schedule) */
  warmup?: number;
  /** LoRA dropout (mlx-lm's lora_parameters.dropout, default 0: none) */
  dropout?: number;
  /** the run's seed: each iteration's dropout masks come from it and the iteration */
  seed?: number;
  /** mlx-lm's grad_checkpoint: each block's activations recomputed in the backward pass instead of kept */
  gradCheckpoint?: boolean;
}

export class Trainer implements Disposable {
  private readonly adam: Adam;
  private readonly rate: RateAt;
  private accumulated: MxArray[] | null = null;
  learningRate: number;

  constructor(
    private readonly model: DecoderLM,
    private readonly loras: ReadonlyMap<string, Lora>,
    private readonly o: TrainerOptions,
  ) {
    this.adam = new Adam({ learningRate: o.learningRate, weightDecay: o.weightDecay });
    this.rate = rateAt(o.schedule, o.learningRate, o.warmup);
    this.learningRate = this.rate(0);
  }

  /** Optimizer updates taken. */
  get updates(): number {
    return this.adam.steps;
  }

  /** Iteration `iteration` (1-based, counted across a resume) on one batch; its loss and target tokens. */
  step(batch: Batch, iteration: number): { loss: number; ntoks: number } {
    const n = this.o.accumulation;
    const update = iteration % n === 0;
    const prev = this.accumulated;
    const params = loraParams(this.loras);
    const lr = update ? this.rate(this.adam.steps) : this.learningRate;
    const r = scope(() => {
      const p = this.o.dropout ?? 0;
      const drop = p > 0 ? { p, seed: mixSeed(this.o.seed ?? 0, iteration) } : null;
      const { loss, ntoks, grads } = lossAndGrads(this.model, this.loras, batch, drop, this.o.gradCheckpoint ?? false);
      const summed = prev ? grads.map((g, i) => add(g, prev[i]!)) : grads;
      if (!update) return { loss, ntoks, kept: summed.map(persist), next: null };
      const mean = n > 1 ? summed.map((g) => divide(g, n)) : summed;
      return { loss, ntoks, kept: null, next: this.adam.update(params, mean, lr) };
    });
    evalArrays(...(r.next ?? r.kept!), ...this.adam.state(), r.loss, r.ntoks);
    for (const a of prev ?? []) a.free();
    this.accumulated = r.kept;
    if (r.next) {
      replaceParams(this.loras, r.next);
      this.learningRate = lr;
    }
    const out = { loss: r.loss.item(), ntoks: r.ntoks.item() };
    r.loss.free();
    r.ntoks.free();
    return out;
  }

  /** The adapters, Adam's moments and the accumulated gradients, by name (the arrays stay the trainer's). */
  checkpointTensors(): Map<string, MxArray> {
    const names = loraParamNames(this.loras);
    const { m, v } = this.adam.moments();
    const out = new Map<string, MxArray>();
    loraParams(this.loras).forEach((p, i) => out.set(names[i]!, p));
    m.forEach((a, i) => out.set(`adam.m.${names[i]}`, a));
    v.forEach((a, i) => out.set(`adam.v.${names[i]}`, a));
    this.accumulated?.forEach((a, i) => out.set(`accumulated.${names[i]}`, a));
    return out;
  }

  /** Continues from checkpointTensors() after `updates` updates; takes the arrays it uses, frees the rest. */
  restore(tensors: Map<string, MxArray>, updates: number): void {
    const names = loraParamNames(this.loras);
    const take = (name: string) => {
      const a = tensors.get(name);
      tensors.delete(name);
      return a;
    };
    const params = names.map((n) => take(n));
    if (params.some((p) => !p)) throw new Error("the checkpoint does not hold this adapter's tensors");
    replaceParams(this.loras, params as MxArray[]);
    const m = names.map((n) => take(`adam.m.${n}`)).filter((a): a is MxArray => !!a);
    const v = names.map((n) => take(`adam.v.${n}`)).filter((a): a is MxArray => !!a);
    this.adam.restore(updates, m, v);
    const acc = names.map((n) => take(`accumulated.${n}`)).filter((a): a is MxArray => !!a);
    this.accumulated = acc.length > 0 ? acc : null;
    for (const a of tensors.values()) a.free();
    this.learningRate = this.rate(Math.max(0, updates - 1));
  }

  [Symbol.dispose](): void {
    for (const a of this.accumulated ?? []) a.free();
    this.accumulated = null;
    this.adam[Symbol.dispose]();
  }
}
