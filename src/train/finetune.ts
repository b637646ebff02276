// The runner's training job: the base with a fresh LoRA adapter (init.ts), the rows tokenized with its own
// template (data.ts), batches of similar length in a seeded order, one Adam step each (lora.ts), progress after
// every step, the validation loss at the end, and the adapter written in mlx-lm's layout (adapters.safetensors +
// adapter_config.json: what `mlx_lm.lora` writes and `mlx_lm.load(adapter_path=…)` reads). It runs in a runner of
// its own, with MLX's ops (the shim's CPU primitives have no gradients), and a cancel ends it between steps.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpuKernels, memory, saveSafetensors, type MxArray } from "../ffi/index.ts";
import { Tokenizer } from "../formats/tokenizer/tokenizer.ts";
import { loadModelDir, readConfig } from "../models/load.ts";
import { DecoderLM } from "../models/model.ts";
import type { TrainParams } from "../engine/protocol.ts";
import { RequestError, type JobContext } from "../engine/runner.ts";
import { Adam } from "./adam.ts";
import { DatasetError, tokenizeRows } from "./data.ts";
import { freshAdapter, loraTargets } from "./init.ts";
import { batchLoss, freeBatch, makeBatch, trainStep, type TrainRow } from "./lora.ts";
import { rng } from "./rng.ts";

/** Batches of row indices: sorted by length, `size` at a time, in a seeded order (mlx-lm's iterate_batches). */
export function batchOrder(rows: readonly TrainRow[], size: number, seed: number): number[][] {
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.tokens.length - rows[b]!.tokens.length);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += size) batches.push(order.slice(i, i + size));
  const next = rng(seed);
  for (let i = batches.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [batches[i], batches[j]] = [batches[j]!, batches[i]!];
  }
  return batches;
}

export async function finetune(id: number, params: TrainParams, ctx: JobContext): Promise<void> {
  const o = params.options;
  if (params.model.format !== "mlx") throw new RequestError("fine-tuning a GGUF model is not supported yet", 400);
  const previous = cpuKernels();
  cpuKernels({ use: "mlx" });
  const dir = params.model.path;
  const tokenizer = await Tokenizer.fromFiles(dir);
  let train: TrainRow[];
  let valid: TrainRow[];
  try {
    train = tokenizeRows(tokenizer, params.train, o.mask_prompt);
    valid = tokenizeRows(tokenizer, params.valid, o.mask_prompt);
  } catch (e) {
    if (e instanceof DatasetError) throw new RequestError(`invalid training data: ${e.message}`, 400);
    throw e;
  }
  if (train.some((r) => r.tokens.length < 2)) throw new RequestError("invalid training data: a row has fewer than two tokens", 400);
  const targets = loraTargets(dir, readConfig(dir), o.num_layers);
  if (targets.size === 0) throw new RequestError("the model has no Linear layers to adapt", 400);
  const { model, loras } = loadModelDir(dir, { adapter: freshAdapter(targets, { rank: o.rank, scale: o.scale, numLayers: o.num_layers, seed: o.seed }) });
  using adam = new Adam({ learningRate: o.learning_rate, weightDecay: o.weight_decay });
  try {
    if (!(model instanceof DecoderLM)) throw new RequestError(`${params.model.name}: this architecture cannot be fine-tuned yet`, 400);
    let order: number[][] = [];
    let trained = 0;
    const t0 = performance.now();
    for (let it = 1; it <= o.iters; it++) {
      if (order.length === 0) order = batchOrder(train, o.batch_size, o.seed + it);
      const batch = makeBatch(order.pop()!.map((i) => train[i]!), o.max_seq_length);
      const lr = o.warmup > 0 && it <= o.warmup ? (o.learning_rate * it) / o.warmup : o.learning_rate;
      let step: { loss: number; ntoks: number };
      try {
        step = trainStep(model, loras, adam, batch, lr);
      } finally {
        freeBatch(batch);
      }
      trained += step.ntoks;
      memory.clearCache();
      const seconds = (performance.now() - t0) / 1000;
      ctx.emit({ type: "train", id, iteration: it, total: o.iters, loss: step.loss, learningRate: lr, tokensPerSecond: trained / seconds, trainedTokens: trained });
      await ctx.yieldToLoop();
      if (ctx.cancelled()) {
        ctx.emit({ type: "done", id, reason: "cancelled" });
        return;
      }
    }
    if (valid.length > 0) ctx.emit({ type: "validate", id, iteration: o.iters, loss: validationLoss(model, valid, o.batch_size, o.max_seq_length) });
    saveAdapter(params.outDir, loras, o);
    ctx.emit({ type: "done", id, reason: "ok", data: { files: ["adapters.safetensors", "adapter_config.json"] } });
  } finally {
    model[Symbol.dispose]();
    cpuKernels({ use: previous });
  }
}

/** The loss over every validation row's targets, batch by batch (each batch weighted by its target tokens). */
function validationLoss(model: DecoderLM, rows: readonly TrainRow[], size: number, maxLength: number): number {
  let total = 0;
  let tokens = 0;
  for (let i = 0; i < rows.length; i += size) {
    const batch = makeBatch(rows.slice(i, i + size), maxLength);
    try {
      const [loss, n] = batchLoss(model, batch);
      const count = n.item();
      total += loss.item() * count;
      tokens += count;
      loss.free();
      n.free();
    } finally {
      freeBatch(batch);
    }
  }
  return tokens > 0 ? total / tokens : 0;
}

/** mlx-lm's adapter files: `<path>.lora_a` / `.lora_b` in float32, and the config its loader reads. */
function saveAdapter(dir: string, loras: ReadonlyMap<string, { a: MxArray; b: MxArray }>, o: TrainParams["options"]): void {
  const tensors = new Map<string, MxArray>();
  for (const [path, l] of loras) {
    tensors.set(`${path}.lora_a`, l.a);
    tensors.set(`${path}.lora_b`, l.b);
  }
  saveSafetensors(join(dir, "adapters.safetensors"), tensors, { format: "mlx" });
  const config = {
    fine_tune_type: "lora",
    num_layers: o.num_layers,
    lora_parameters: { rank: o.rank, scale: o.scale, dropout: 0.0 },
    iters: o.iters,
    batch_size: o.batch_size,
    learning_rate: o.learning_rate,
    max_seq_length: o.max_seq_length,
    mask_prompt: o.mask_prompt,
    seed: o.seed,
  };
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(config, null, 2));
}
