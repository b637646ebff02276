// The token loop, as mlx-lm's generate_step and Ollama's MLX pipeline do it:
//  - prefill the prompt in chunks (evaluating the cache after each, then clearing MLX's buffer cache) until
//    one token remains; that token's forward gives the first logits (a pass of its own right after the last
//    chunk, not a step of the decode batch: the first token goes out without waiting for the other sequences);
//  - decode with one step of look-ahead: step n+1's graph is built before token n is read (on a GPU it is also
//    queued on the device then); each step's forward pass is one row of the runner's decode batch
//    (decode-batch.ts), shared with the other sequences generating at the same time;
//  - clear MLX's buffer cache every 256 tokens; free every handle deterministically.
import { asyncEval, clearCache, device, scope, squeeze, type MxArray } from "../ffi/index.ts";
import type { TokenConstraint } from "./constrain/constraint.ts";
import type { CausalLM } from "../models/model.ts";
import { disposeCaches, type LayerCache } from "../models/layers/kv-cache.ts";
import type { PrefixCache } from "./prefix-cache.ts";
import { DecodeBatch } from "./decode-batch.ts";
import type { SamplerOptions } from "./sampler.ts";
import { freeSampled, SequenceSampler, type SampledToken } from "./sequence-sampler.ts";

export interface GenerateOptions extends SamplerOptions {
  /** -1 (or more than 10 × numCtx): 10 × numCtx, as Ollama caps it */
  maxTokens: number;
  /** context length: the caches never hold more; a full context shifts (`shift`) or ends the generation */
  numCtx: number;
  /** tokens a context shift keeps at the start (Ollama's num_keep; -1: the whole prompt); default 4 */
  numKeep?: number;
  /** false: a full context ends the generation ("length") instead of shifting; default true */
  shift?: boolean;
  eosTokenIds: ReadonlySet<number>;
  seed?: number;
  prefillStepSize?: number;
  /** top alternatives to report with each token's logprob (0: only the chosen token's) */
  topLogprobs?: number;
  logprobs?: boolean;
  /**
   * Constrained decoding: disallowed tokens are masked before sampling. Each step's mask depends on the
   * token before, so a constrained loop queues the next forward pass ahead (as the unconstrained loop queues
   * the whole step) but masks and samples only once that token is read and the constraint has advanced.
   */
  constraint?: TokenConstraint;
  /** Where the KV state comes from and goes back to: a cached prefix is not prefilled again (prefix-cache.ts). */
  prefixCache?: PrefixCache;
  /** The runner's decode batch this sequence joins once its prompt is prefilled; default: a batch of its own. */
  batch?: DecodeBatch;
}

export interface TokenEvent {
  token: number;
  logprob?: number;
  top?: { token: number; logprob: number }[];
}

export type FinishReason = "stop" | "length" | "cancelled";

export interface GenerationStats {
  promptTokens: number;
  /** prompt tokens whose KV state came from the prefix cache (not prefilled; not in promptNs) */
  cachedTokens: number;
  promptNs: number;
  generatedTokens: number;
  generateNs: number;
  finishReason: FinishReason;
  peakMemory: number;
}

export interface LoopControl {
  cancelled(): boolean;
  /** lets the event loop read a cancel between steps */
  yieldToLoop(): Promise<void>;
}

const CLEAR_EVERY = 256;
/** Prefill chunk while other sequences decode: each chunk holds their next step up, so it stays short. */
const SHARED_PREFILL_CHUNK = 128;

export async function* generateTokens(
  model: CausalLM,
  prompt: number[],
  opts: GenerateOptions,
  ctl: LoopControl,
): AsyncGenerator<TokenEvent, GenerationStats> {
  if (prompt.length === 0) throw new Error("generation needs at least one prompt token");
  const hit = opts.prefixCache?.take(prompt, () => model.makeCache()) ?? { caches: model.makeCache(), reused: 0 };
  let caches: LayerCache[] = hit.caches;
  // What the caches hold, in order: the prompt, then every token read back (each was fed to the step after it).
  let sequence = [...prompt];
  let failed = false;
  const constraint = opts.constraint;
  const sampler = new SequenceSampler(opts, prompt);
  const batch = opts.batch ?? new DecodeBatch(model);
  let member: ReturnType<DecodeBatch["join"]> | null = null;
  const t0 = performance.now();
  let promptNs = 0;
  let generated = 0;
  let finish: FinishReason = "length";

  /** The next token's logits (after the penalties) from `input`: this sequence's row of the next batched step. */
  const logitsOf = async (input: MxArray): Promise<MxArray> => sampler.process(await member!.step(input, caches));

  const cap = 10 * opts.numCtx;
  const budget = opts.maxTokens < 0 || opts.maxTokens > cap ? cap : opts.maxTokens;
  /**
   * Tokens this generation may still produce, the one about to be sampled included: num_predict's, and the
   * context's when it does not shift (token k needs prompt + k - 1 positions before it; `sequence` holds them).
   */
  const tokensLeft = (): number => Math.min(budget - generated, opts.shift === false ? opts.numCtx - sequence.length + 1 : Infinity);

  /** The token sampled from processed logits, which it frees (the sampled graph holds what it needs). */
  const pickFrom = (logits: MxArray): SampledToken => {
    try {
      return sampler.pick(logits, tokensLeft());
    } finally {
      logits.free();
    }
  };

  /**
   * Feeds tokens[from..to) to the caches in chunks; then, when given, the token `then` in a pass of its own (as a
   * decode step computes it), right after the last chunk. The logits after `then` (null without it), or false when
   * cancelled meanwhile.
   */
  const prefill = async (tokens: readonly number[], from: number, to: number, then?: number): Promise<MxArray | null | false> => {
    for (let pos = from; ; ) {
      const chunk = opts.prefillStepSize ?? (batch.size > (member ? 1 : 0) ? SHARED_PREFILL_CHUNK : 512);
      const n = Math.min(chunk, to - pos);
      const part = tokens.slice(pos, pos + n);
      pos += n;
      const logits = pos === to && then !== undefined ? await batch.prefill(part, caches, then) : (await batch.prefill(part, caches), null);
      clearCache();
      if (pos === to) {
        if (!ctl.cancelled()) return logits; // after the last chunk, what follows goes on at once
        logits?.free();
        return false;
      }
      await ctl.yieldToLoop();
      if (ctl.cancelled()) return false;
    }
  };

  // Ollama's context shift (runner/ollamarunner/cache.go ShiftCacheSlot): keep the first numKeep tokens, drop
  // the oldest of the rest so that half of what is not kept is free. Caches cannot drop positions in the middle
  // exactly (keys carry their RoPE positions; a ring buffer has overwritten some), so the kept tokens are
  // prefilled again into fresh caches, as Ollama does for caches that cannot shift: what follows is exactly what
  // a cold prompt of the kept tokens gives, and the caches can still go to the prefix cache under `sequence`.
  const numKeep = Math.min(opts.numKeep === undefined ? 4 : opts.numKeep < 0 ? prompt.length : opts.numKeep, opts.numCtx - 1);
  const shiftContext = async (): Promise<boolean> => {
    member?.release(); // its state must be in `caches` before they go
    const targetFree = Math.max(1, Math.floor((opts.numCtx - numKeep) / 2));
    const discard = Math.max(1, targetFree - (opts.numCtx - sequence.length));
    sequence = [...sequence.slice(0, numKeep), ...sequence.slice(numKeep + discard)];
    disposeCaches(caches);
    caches = model.makeCache();
    return (await prefill(sequence, 0, sequence.length)) !== false;
  };
  /** Room in the caches for one more token: true, after shifting the context if it is full; false when it ends here. */
  const makeRoom = async (): Promise<boolean> => {
    if (sequence.length < opts.numCtx) return true;
    return opts.shift !== false && shiftContext();
  };

  let current: SampledToken | null = null;
  let next = null as SampledToken | null;
  // Under a constraint: the next forward pass, queued while the token it follows is read and the mask built.
  let ahead = null as MxArray | null; // (set by settle: no narrowing to null)
  // The successor's forward pass: submitted to the batch (queued), then taken (settle: its graph built and, without
  // a constraint, sampled), then evaluated (begin). From the second token on it is taken before this token is read,
  // so that its graph is built while the device finishes the step before. On a GPU it is evaluated then too:
  // async_eval queues it and returns, and the device runs ahead. On the CPU, MLX's async_eval computes most of a
  // graph before it returns (it keeps ~10 tasks in flight), so there it begins only once this token has gone out:
  // begun ahead, the other rows' tokens waited behind it, each a whole step late (60–70 ms at 4 rows).
  const evalAhead = device.defaultDevice() === "gpu";
  let queued: Promise<MxArray> | null = null;
  let unbegun = false;
  /** Takes the queued pass's logits: under a constraint, kept ahead (masked once this token is read), else sampled. */
  const settle = async (): Promise<void> => {
    const q = queued;
    if (!q) return;
    queued = null;
    const logits = await q;
    if (constraint) ahead = logits;
    else next = pickFrom(logits);
    unbegun = true;
  };
  const begin = (): void => {
    if (!unbegun) return;
    unbegun = false;
    if (ahead) asyncEval(ahead);
    else if (next) asyncEval(next.token, ...(next.logprobs ? [next.logprobs] : []));
  };
  try {
    // Prefill all but the last prompt token, in chunks; the last one's forward pass (one row, as a decode step
    // computes it) gives the first token, sampled and sent before this sequence waits on the decode batch.
    const first = await prefill(prompt, hit.reused, prompt.length - 1, prompt[prompt.length - 1]!);
    if (!first) {
      finish = "cancelled";
      return stats();
    }
    current = pickFrom(sampler.process(first));
    asyncEval(current.token, ...(current.logprobs ? [current.logprobs] : []));
    member = batch.join();

    while (true) {
      if (generated + 1 < budget && (await makeRoom())) {
        // The first token is read and sent at once; a later one once its successor's graph is built.
        queued = logitsOf(current.token);
        if (generated > 0) {
          await settle();
          if (evalAhead) begin();
        }
      }
      const token = current.token.item();
      sequence.push(token);
      if (generated === 0) promptNs = (performance.now() - t0) * 1e6;
      if (opts.eosTokenIds.has(token)) {
        finish = "stop";
        break;
      }
      generated++;
      yield { token, ...(current.logprobs ? readLogprobs(current.logprobs, token, opts.topLogprobs ?? 0) : {}) };
      await settle();
      begin();
      if (constraint) {
        constraint.advance(token);
        if (constraint.finished) {
          finish = "stop";
          break;
        }
        if (ahead) {
          next = sampler.pick(ahead, tokensLeft());
          ahead.free();
          ahead = null;
          asyncEval(next.token, ...(next.logprobs ? [next.logprobs] : []));
        }
      }
      freeSampled(current);
      current = next;
      next = null;
      if (generated % CLEAR_EVERY === 0) clearCache();
      if (!current) {
        finish = ctl.cancelled() ? "cancelled" : "length"; // a cancel can come during a context shift's prefill
        break;
      }
      await ctl.yieldToLoop();
      if (ctl.cancelled()) {
        finish = "cancelled";
        break;
      }
    }
    return stats();
  } catch (err) {
    failed = true; // an update may have stopped halfway: these caches are not kept
    throw err;
  } finally {
    if (queued) await queued.then((l) => l.free(), () => {}); // a pass still in the batch (the first token ended it)
    member?.[Symbol.dispose]();
    freeSampled(current);
    freeSampled(next);
    ahead?.free();
    sampler[Symbol.dispose]();
    if (opts.prefixCache && !failed) opts.prefixCache.put(sequence, caches);
    else disposeCaches(caches);
    clearCache();
  }

  function stats(): GenerationStats {
    const now = performance.now();
    const totalNs = (now - t0) * 1e6;
    return {
      promptTokens: prompt.length,
      cachedTokens: hit.reused,
      promptNs: promptNs || totalNs,
      generatedTokens: generated,
      generateNs: promptNs ? totalNs - promptNs : 0,
      finishReason: finish,
      peakMemory: 0,
    };
  }
}

function readLogprobs(lp: MxArray, token: number, topN: number): Pick<TokenEvent, "logprob" | "top"> {
  return scope(() => {
    const flat = squeeze(lp, [0]);
    const all = flat.toFloat32();
    const out: Pick<TokenEvent, "logprob" | "top"> = { logprob: all[token]! };
    if (topN > 0) {
      out.top = topEntries(all, topN);
    }
    return out;
  });
}


/** The n largest entries, best first, without sorting the whole vocabulary. */
function topEntries(values: Float32Array, n: number): { token: number; logprob: number }[] {
  const best: { token: number; logprob: number }[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (best.length === n && v <= best[n - 1]!.logprob) continue;
    let j = best.length < n ? best.length : n - 1;
    best[j] = { token: i, logprob: v };
    while (j > 0 && best[j - 1]!.logprob < v) {
      [best[j - 1], best[j]] = [best[j]!, best[j - 1]!];
      j--;
    }
  }
  return best;
}
