// The runner's training job: the base with a fresh LoRA adapter (init.ts), the rows tokenized with its own
// template (data.ts), batches of similar length in a seeded order, one iteration each (trainer.ts: gradient
// accumulation, the learning-rate schedule, Adam), progress after every step, the validation loss at the end, and
// the adapter written in mlx-lm's layout (adapters.safetensors + adapter_config.json: what `mlx_lm.lora` writes and
// `mlx_lm.load(adapter_path=…)` reads), or fused into the base's weight files (fuse.ts). A cancel ends it between
// steps after a checkpoint (checkpoint.ts), as does every `save_every`-th step; `resume` continues from the newest
// one to the same adapter an uninterrupted run makes. It runs in a runner of its own, with MLX's ops (the shim's
// CPU primitives have no gradients).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpuKernels, device, loadSafetensors, memory, saveSafetensors, type MxArray } from "../ffi/index.ts";
import { loadGgufWeights } from "../formats/gguf/to-mlx.ts";
import { ggufTokenizer } from "../formats/tokenizer/from-gguf.ts";
import { Tokenizer } from "../formats/tokenizer/tokenizer.ts";
import { build, loadModelDir, readConfig } from "../models/load.ts";
import { DecoderLM } from "../models/model.ts";
import type { TrainParams } from "../engine/protocol.ts";
import { RequestError, type JobContext } from "../engine/job.ts";
import { latestStep, readState, writeState, type CheckpointState } from "./checkpoint.ts";
import { DatasetError, tokenizeRows } from "./data.ts";
import { fuseAdapterDir, fuseGgufAdapterDir } from "./fuse.ts";
import { dirShapes, freshAdapter, loraTargets } from "./init.ts";
import { batchLoss, freeBatch, makeBatch, type TrainRow } from "./lora.ts";
import { rng } from "./rng.ts";
import { Trainer } from "./trainer.ts";

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
  const previous = cpuKernels();
  cpuKernels({ use: "mlx" });
  memory.resetPeak();
  const spec = params.model;
  // A GGUF base is read once: its tokenizer from the metadata, its tensors (repacked for MLX) kept for the build.
  const gguf = spec.format === "gguf" ? loadGgufWeights(spec.path) : null;
  const tokenizer = gguf ? ggufTokenizer(gguf.file.metadata) : await Tokenizer.fromFiles(spec.path);
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
  const shapes = gguf ? new Map([...gguf.tensors].map(([k, t]) => [k, t.shape])) : dirShapes(spec.path);
  const config = gguf ? gguf.config : readConfig(spec.path);
  // a key that names no Linear of the model is a mistake to report, not to train around (mlx-lm ignores it)
  const linears = [...loraTargets(shapes, config, -1).keys()];
  const missing = (o.keys ?? []).filter((k) => !linears.some((path) => path.endsWith(`.${k}`)));
  if (missing.length > 0) throw new RequestError(`keys: the model's blocks have no Linear named ${missing.map((k) => `"${k}"`).join(", ")}`, 400);
  const targets = loraTargets(shapes, config, o.num_layers, o.keys);
  if (targets.size === 0) throw new RequestError("the model has no Linear layers to adapt", 400);
  // On the CPU the frozen weights train as float32 matrices (BLAS), as the serving CPU path runs them: MLX's CPU
  // quantized matmul is a scalar loop, forward and backward. A GPU keeps them quantized (QLoRA).
  const opts = { dequantize: device.defaultDevice() === "cpu", adapter: freshAdapter(targets, { rank: o.rank, scale: o.scale, numLayers: o.num_layers, seed: o.seed }) };
  const { model, loras } = gguf ? build(gguf.config, gguf.tensors, opts) : loadModelDir(spec.path, opts);
  using trainer = new Trainer(model as DecoderLM, loras, {
    learningRate: o.learning_rate,
    weightDecay: o.weight_decay,
    accumulation: o.grad_accumulation_steps,
    dropout: o.dropout,
    seed: o.seed,
    gradCheckpoint: o.grad_checkpoint ?? false,
    ...(o.lr_schedule ? { schedule: o.lr_schedule } : { warmup: o.warmup }),
  });
  try {
    if (!(model instanceof DecoderLM)) throw new RequestError(`${spec.name}: this architecture cannot be fine-tuned yet`, 400);
    let run: CheckpointState = { iteration: 0, updates: 0, trainedTokens: 0, order: [] };
    if (params.resume) run = resumeFrom(params.checkpointDir, trainer);
    const save = () => writeState(params.checkpointDir, { ...run, updates: trainer.updates }, (file) => saveSafetensors(file, trainer.checkpointTensors()));
    const t0 = performance.now();
    const before = run.trainedTokens;
    for (let it = run.iteration + 1; it <= o.iters; it++) {
      if (run.order.length === 0) run.order = batchOrder(train, o.batch_size, o.seed + it);
      const batch = makeBatch(run.order.pop()!.map((i) => train[i]!), o.max_seq_length);
      let step: { loss: number; ntoks: number };
      try {
        step = trainer.step(batch, it);
      } finally {
        freeBatch(batch);
      }
      run.iteration = it;
      run.trainedTokens += step.ntoks;
      memory.clearCache();
      const seconds = (performance.now() - t0) / 1000;
      const tokensPerSecond = (run.trainedTokens - before) / seconds;
      ctx.emit({ type: "train", id, iteration: it, total: o.iters, loss: step.loss, learningRate: trainer.learningRate, tokensPerSecond, trainedTokens: run.trainedTokens, peakMemory: memory.peak(), rss: process.memoryUsage.rss() });
      await ctx.yieldToLoop();
      if (ctx.cancelled()) {
        save();
        ctx.emit({ type: "done", id, reason: "cancelled" });
        return;
      }
      if (o.save_every > 0 && it % o.save_every === 0 && it < o.iters) save();
    }
    if (valid.length > 0) ctx.emit({ type: "validate", id, iteration: o.iters, loss: validationLoss(model, valid, o.batch_size, o.max_seq_length) });
    saveAdapter(params.outDir, loras, o, spec.format);
    let files = ["adapters.safetensors", "adapter_config.json"];
    // fused from the adapter file just written, as mlx_lm.fuse and `create` with `fuse` read one
    if (params.fuse) files = spec.format === "gguf" ? fuseGgufAdapterDir(params.outDir, spec.path) : fuseAdapterDir(params.outDir, spec.path);
    ctx.emit({ type: "done", id, reason: "ok", data: { files } });
  } finally {
    model[Symbol.dispose]();
    cpuKernels({ use: previous });
  }
}

/** The newest checkpoint's state, its tensors put into the trainer. */
function resumeFrom(dir: string, trainer: Trainer): CheckpointState {
  const step = latestStep(dir);
  if (!step) throw new RequestError("no checkpoint to resume", 400);
  const { state, tensors } = readState(step);
  trainer.restore(loadSafetensors(tensors).tensors, state.updates);
  return state;
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
function saveAdapter(dir: string, loras: ReadonlyMap<string, { a: MxArray; b: MxArray }>, o: TrainParams["options"], base: "mlx" | "gguf"): void {
  const tensors = new Map<string, MxArray>();
  for (const [path, l] of loras) {
    tensors.set(`${path}.lora_a`, l.a);
    tensors.set(`${path}.lora_b`, l.b);
  }
  saveSafetensors(join(dir, "adapters.safetensors"), tensors, { format: "mlx" });
  const config = {
    fine_tune_type: "lora",
    num_layers: o.num_layers,
    lora_parameters: { rank: o.rank, scale: o.scale, dropout: o.dropout ?? 0, ...(o.keys ? { keys: o.keys } : {}) },
    iters: o.iters,
    batch_size: o.batch_size,
    learning_rate: o.learning_rate,
    lr_schedule: o.lr_schedule ?? null,
    grad_accumulation_steps: o.grad_accumulation_steps,
    max_seq_length: o.max_seq_length,
    mask_prompt: o.mask_prompt,
    grad_checkpoint: o.grad_checkpoint ?? false,
    seed: o.seed,
    // over a GGUF base the adapter follows its tensors (llama.cpp's converter permutes llama's Q/K rows)
    ollmlx_base_format: base,
  };
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(config, null, 2));
}
