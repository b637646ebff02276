// Text in, text out: a loaded model (weights + tokenizer), and one completion through the token loop with
// streaming detokenization (never broken UTF-8) and stop strings (never emitted, even split across tokens).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cpuKernels, device, memory } from "../ffi/index.ts";
import { OLLMLX_CPU_ACTIVATIONS, OLLMLX_CPU_KERNELS, OLLMLX_CPU_SPIN_US, OLLMLX_CPU_THREADS } from "../config/settings.ts";
import { build, loadModelDir, type BuildOptions } from "../models/load.ts";
import { loadAdapter } from "../models/adapter.ts";
import { ADAPTER_FOLDER, readAdapterDir } from "../formats/adapter.ts";
import { loadGgufWeights } from "../formats/gguf/to-mlx.ts";
import { ggufTokenizer } from "../formats/tokenizer/from-gguf.ts";
import type { CausalLM } from "../models/model.ts";
import { createDetokenizer } from "../formats/tokenizer/detokenizer.ts";
import { StopMatcher } from "../formats/tokenizer/stop.ts";
import { Tokenizer } from "../formats/tokenizer/tokenizer.ts";
import type { Config } from "../models/config.ts";
import { generateTokens, type GenerateOptions, type GenerationStats, type LoopControl, type TokenEvent } from "./generate.ts";

export interface LoadedModel extends Disposable {
  name: string;
  model: CausalLM;
  tokenizer: Tokenizer;
  config: Config;
  loadNs: number;
  /** context length the model was trained for (0 if unknown) */
  contextLength: number;
}

function loadedModel(name: string, model: CausalLM, tokenizer: Tokenizer, config: Config, startedAt: number): LoadedModel {
  const text = (config.text_config ?? {}) as Config;
  const ctx = Number(config.max_position_embeddings ?? text.max_position_embeddings ?? 0);
  return {
    name,
    model,
    tokenizer,
    config,
    contextLength: Number.isFinite(ctx) ? ctx : 0,
    loadNs: Math.round((performance.now() - startedAt) * 1e6),
    [Symbol.dispose]: () => model[Symbol.dispose](),
  };
}

/** Applies OLLMLX_CPU_KERNELS and OLLMLX_CPU_THREADS to this process's MLX before a model's graph is built. */
export function configureCpuKernels(): void {
  cpuKernels({ use: OLLMLX_CPU_KERNELS.read(), threads: OLLMLX_CPU_THREADS.read(), spinUs: OLLMLX_CPU_SPIN_US.read(), activations: OLLMLX_CPU_ACTIVATIONS.read() });
}

/**
 * A model directory in the mlx-community layout; a LoRA adapter in its `adapter/` folder (a store model created with ADAPTER: an mlx-lm or PEFT
 * adapter's files) is applied unfused over its weights.
 */
export async function loadMlxModel(name: string, dir: string, opts: BuildOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  configureCpuKernels();
  const tokenizer = await Tokenizer.fromFiles(dir);
  const adapterDir = join(dir, ADAPTER_FOLDER);
  const adapter = opts.adapter ?? (existsSync(adapterDir) ? loadAdapter(readAdapterDir(adapterDir)) : undefined);
  try {
    const { model, config } = loadModelDir(dir, { ...opts, ...(adapter ? { adapter } : {}) });
    return loadedModel(name, model, tokenizer, config, t0);
  } catch (e) {
    for (const t of adapter?.tensors.values() ?? []) t.free(); // no-ops for those a failed build already freed
    throw e;
  }
}

/** A GGUF file: weights repacked for MLX, tokenizer and chat template from its metadata. */
export function loadGgufModel(name: string, path: string, opts: BuildOptions = {}): LoadedModel {
  const t0 = performance.now();
  configureCpuKernels();
  // the CPU kernels read 4 and 8 bits: other widths become 8 as each tensor is read (build() would widen them later)
  const widen = !opts.dequantize && device.defaultDevice() === "cpu" && cpuKernels() !== "mlx";
  const { file, config, tensors } = loadGgufWeights(path, { widen });
  const tokenizer = ggufTokenizer(file.metadata);
  const { model } = build(config, tensors, opts);
  return loadedModel(name, model, tokenizer, config, t0);
}

export interface CompletionOptions extends Omit<GenerateOptions, "eosTokenIds"> {
  stop: string[];
}

export interface TextEvent extends TokenEvent {
  /** the new text this token completes (may be "" while bytes of a character are pending) */
  text: string;
}

/** The token loop's statistics, with the finish reason a stop string may have set, and that string. */
export type CompletionStats = GenerationStats & { stopSequence?: string };

export async function* complete(
  lm: LoadedModel,
  promptTokens: number[],
  opts: CompletionOptions,
  ctl: LoopControl,
): AsyncGenerator<TextEvent, CompletionStats> {
  memory.resetPeak();
  const detok = createDetokenizer(lm.tokenizer);
  const stops = new StopMatcher(opts.stop);
  // A stop string ends the loop the way a cancel does; the stats still come back from the loop.
  let stopped = false;
  let emittedTokens = 0;
  const inner: LoopControl = { cancelled: () => stopped || ctl.cancelled(), yieldToLoop: ctl.yieldToLoop };
  const loop = generateTokens(lm.model, promptTokens, { ...opts, eosTokenIds: lm.tokenizer.eosTokenIds }, inner);
  while (true) {
    const r = await loop.next();
    if (r.done) {
      if (!stopped) {
        const tail = stops.push(detok.finalize());
        stopped = tail.stopped;
        const rest = tail.emit + (tail.stopped ? "" : stops.flush());
        if (rest) yield { token: -1, text: rest };
      }
      const finishReason = stopped ? "stop" : r.value.finishReason;
      const stopSequence = stops.matched !== null ? { stopSequence: stops.matched } : {};
      return { ...r.value, generatedTokens: stopped ? emittedTokens : r.value.generatedTokens, finishReason, peakMemory: memory.peak(), ...stopSequence };
    }
    if (stopped) continue; // the look-ahead token after a stop string: computed, never shown
    emittedTokens++;
    const pushed = stops.push(detok.add(r.value.token));
    stopped = pushed.stopped;
    yield { ...r.value, text: pushed.emit };
  }
}
