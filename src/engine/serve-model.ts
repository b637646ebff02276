// The runner's model ops: load (one model per runner) and generate (prompt text → tokens → completion).
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { device } from "../ffi/index.ts";
import { shouldDequantizeOnCpu } from "./cpu-backend.ts";
import { complete, loadGgufModel, loadMlxModel, type LoadedModel } from "./completion.ts";
import { loadAdapter } from "../models/adapter.ts";
import { readAdapterDir } from "../formats/adapter.ts";
import type { DecodeBatchStats, GenerateParams, ModelSpec, RunnerEvent } from "./protocol.ts";
import { RequestError, type JobContext } from "./job.ts";
import { MESSAGES } from "../api/errors.ts";
import { requestConstraint } from "./constrain/thinking-gate.ts";
import { ConstraintError } from "./constrain/schema.ts";
import { PrefixCache, type PrefixCacheStats } from "./prefix-cache.ts";
import { OLLMLX_PREFIX_CACHE_BYTES } from "../config/settings.ts";
import { DecodeBatch } from "./decode-batch.ts";
import { isEmbeddingSpec, loadEmbeddingModel, loadedEncoder } from "./serve-embed.ts";

let loaded: LoadedModel | null = null;
// The KV state of recent requests to the loaded model (prefix-cache.ts); made with the model, lives as long.
let prefixCache: PrefixCache | null = null;
// The sequences generating now, stepped together (decode-batch.ts).
let batch: DecodeBatch | null = null;

/** How the loaded model's generations have been batched (for stats). */
export function batchStats(): DecodeBatchStats | null {
  return batch?.stats ?? null;
}

/** What the prefix cache holds now (for stats). */
export function prefixCacheStats(): PrefixCacheStats | null {
  return prefixCache?.stats ?? null;
}

function weightBytes(spec: ModelSpec): number {
  if (spec.format === "gguf") return statSync(spec.path).size;
  return readdirSync(spec.path)
    .filter((f) => f.endsWith(".safetensors"))
    .reduce((n, f) => n + statSync(join(spec.path, f)).size, 0);
}

export function loadedModelName(): string | null {
  return loaded?.name ?? loadedEncoder()?.name ?? null;
}

export async function loadModel(id: number, spec: ModelSpec, ctx: JobContext): Promise<void> {
  const current = loaded ?? loadedEncoder();
  if (current) {
    if (current.name === spec.name) {
      ctx.emit({ type: "loaded", id, loadDurationNs: 0, contextLength: current.contextLength });
      return;
    }
    throw new Error(`this runner already serves ${current.name}; a runner holds one model`);
  }
  if (isEmbeddingSpec(spec)) return loadEmbeddingModel(id, spec, ctx);
  // A 4-bit weight is half a byte per parameter on disk, a float32 one four: bytes × 2 over-estimates params.
  const dequantize = shouldDequantizeOnCpu(weightBytes(spec) * 2, device.defaultDevice());
  const adapter = spec.adapter ? loadAdapter(readAdapterDir(spec.adapter)) : undefined;
  loaded = spec.format === "gguf" ? loadGgufModel(spec.name, spec.path, { dequantize, ...(adapter ? { adapter } : {}) }) : await loadMlxModel(spec.name, spec.path, { dequantize });
  prefixCache = new PrefixCache(OLLMLX_PREFIX_CACHE_BYTES.read());
  batch = new DecodeBatch(loaded.model);
  ctx.emit({ type: "loaded", id, loadDurationNs: loaded.loadNs, contextLength: loaded.contextLength });
}

/** Ollama keeps the first num_keep tokens and the most recent ones when a prompt overflows the context. */
export function fitToContext(tokens: number[], numCtx: number, numKeep: number): number[] {
  const limit = Math.max(1, numCtx);
  if (tokens.length <= limit) return tokens;
  const keep = Math.min(numKeep < 0 ? tokens.length : numKeep, limit - 1);
  return [...tokens.slice(0, keep), ...tokens.slice(tokens.length - (limit - keep))];
}

export async function generate(id: number, params: GenerateParams, ctx: JobContext): Promise<void> {
  const lm = loaded;
  if (!lm) throw new Error(loadedEncoder() ? `${loadedEncoder()!.name} is an embedding model: it cannot generate` : "no model is loaded in this runner");
  const o = params.options;
  const promptText = params.prompt;
  // A rendered chat template carries its own special tokens; other text gets BOS where the tokenizer has one.
  let tokens = params.rendered ? lm.tokenizer.encode(promptText, { addSpecialTokens: false }) : lm.tokenizer.encodePrompt(promptText);
  if (tokens.length === 0) throw new RequestError("the prompt is empty after tokenization");
  const contextIds = params.returnContext ? [...tokens] : undefined;
  // As Ollama's runner: a prompt longer than the context is cut to it (keeping num_keep), or refused with truncate
  // false; generation then makes room by shifting the context.
  if (params.truncate === false && tokens.length > o.num_ctx) throw new RequestError(MESSAGES.inputTooLong, 400);
  tokens = fitToContext(tokens, o.num_ctx, o.num_keep);
  let constraint;
  try {
    constraint = params.constraint || params.thinkBudget !== undefined ? requestConstraint(lm.tokenizer, params.constraint, promptText, params.thinking === true, params.thinkBudget) : undefined;
  } catch (e) {
    if (e instanceof ConstraintError) throw new RequestError(`invalid format: ${e.message}`);
    throw e;
  }
  const run = complete(
    lm,
    tokens,
    {
      temperature: o.temperature,
      topK: o.top_k,
      topP: o.top_p,
      minP: o.min_p,
      repeatPenalty: o.repeat_penalty,
      repeatLastN: o.repeat_last_n,
      presencePenalty: o.presence_penalty,
      frequencyPenalty: o.frequency_penalty,
      seed: o.seed >= 0 ? o.seed : undefined,
      maxTokens: o.num_predict,
      numCtx: o.num_ctx,
      numKeep: o.num_keep,
      shift: params.shift,
      stop: o.stop,
      logprobs: o.logprobs,
      topLogprobs: o.top_logprobs,
      constraint,
      prefixCache: prefixCache ?? undefined,
      batch: batch ?? undefined,
    },
    ctx,
  );
  while (true) {
    const r = await run.next();
    if (r.done) {
      const s = r.value;
      const reason = s.finishReason;
      const event: RunnerEvent = {
        type: "done",
        id,
        reason,
        summary: {
          promptTokens: s.promptTokens,
          cachedTokens: s.cachedTokens,
          promptNs: Math.round(s.promptNs),
          generatedTokens: s.generatedTokens,
          generateNs: Math.round(s.generateNs),
          peakMemory: s.peakMemory,
          ...(contextIds ? { context: contextIds } : {}),
          ...(s.stopSequence !== undefined ? { stopSequence: s.stopSequence } : {}),
        },
      };
      ctx.emit(event);
      return;
    }
    const e = r.value;
    contextIds?.push(e.token);
    ctx.emit({
      type: "token",
      id,
      text: e.text,
      token: e.token,
      ...(e.logprob !== undefined ? { logprob: e.logprob } : {}),
      ...(e.top ? { top: e.top.map((t) => ({ ...t, text: lm.tokenizer.decode([t.token]) })) } : {}),
    });
  }
}
