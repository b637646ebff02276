// Sampling with mlx-lm's semantics (sample_utils.py): logits processors (penalties) first, then on the
// log-probabilities the fixed chain top_p → min_p → top_k → categorical(logprobs / temperature);
// temperature 0 is argmax. Everything stays in MLX: nothing is read back except the chosen token.
import {
  add,
  argmax,
  argpartition,
  arange,
  astype,
  cumsum,
  divide,
  equal,
  exp,
  expandDims,
  less,
  logsumexp,
  max,
  multiply,
  negative,
  putAlongAxis,
  random,
  slice,
  sort,
  subtract,
  sum,
  takeAlongAxis,
  where,
  full,
  greaterEqual,
  type MxArray,
} from "../ffi/index.ts";

export interface SamplerOptions {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** how many recent tokens the penalties look at */
  repeatLastN: number;
}

export const GREEDY: SamplerOptions = {
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  repeatPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repeatLastN: 64,
};

export function penaltiesActive(o: SamplerOptions): boolean {
  return o.repeatLastN !== 0 && (o.repeatPenalty !== 1 && o.repeatPenalty > 0 || o.presencePenalty !== 0 || o.frequencyPenalty !== 0);
}

/**
 * logits: (1, V); history: (N,) int32 recent token ids. mlx-lm's processors, applied in its order:
 * repetition (sign-aware multiply/divide, once per distinct token), presence (once per distinct token),
 * frequency (once per occurrence).
 */
export function applyPenalties(logits: MxArray, history: MxArray, o: SamplerOptions): MxArray {
  if (history.size === 0) return logits;
  const ids = expandDims(history, [0]);
  let l = logits;
  if (o.repeatPenalty !== 1 && o.repeatPenalty > 0) {
    const sel = takeAlongAxis(l, ids, -1);
    const penalized = where(less(sel, 0), multiply(sel, o.repeatPenalty), divide(sel, o.repeatPenalty));
    l = putAlongAxis(l, ids, penalized, -1);
  }
  if (o.presencePenalty !== 0) {
    l = putAlongAxis(l, ids, subtract(takeAlongAxis(l, ids, -1), o.presencePenalty), -1);
  }
  if (o.frequencyPenalty !== 0) {
    const V = l.shape[l.ndim - 1]!;
    const counts = sum(astype(equal(expandDims(history, [1]), arange(0, V, 1, "int32")), l.dtype), [0], true);
    l = subtract(l, multiply(counts, o.frequencyPenalty));
  }
  return l;
}

export function logprobsOf(logits: MxArray): MxArray {
  return subtract(logits, logsumexp(logits, [-1], true));
}

export function applyTopP(logprobs: MxArray, topP: number): MxArray {
  const sorted = sort(logprobs, -1);
  const probs = exp(astype(sorted, "float32"));
  const massAbove = cumsum(probs, -1, { reverse: true, inclusive: false });
  const total = add(slice(massAbove, [0, 0], [1, 1]), slice(probs, [0, 0], [1, 1]));
  const dropped = astype(sum(greaterEqual(massAbove, multiply(total, topP)), [-1], true), "int32");
  const threshold = takeAlongAxis(sorted, dropped, -1);
  return where(less(logprobs, threshold), -Infinity, logprobs);
}

export function applyMinP(logprobs: MxArray, minP: number): MxArray {
  const top = max(logprobs, [-1], true);
  return where(less(logprobs, add(top, Math.log(minP))), -Infinity, logprobs);
}

export function applyTopK(logprobs: MxArray, topK: number): MxArray {
  const V = logprobs.shape[1]!;
  if (topK >= V) return logprobs;
  const part = argpartition(negative(logprobs), topK - 1, -1);
  const maskIdx = slice(part, [0, topK], [1, V]);
  return putAlongAxis(logprobs, maskIdx, full(maskIdx.shape, -Infinity, logprobs.dtype), -1);
}

/** logprobs: (1, V) → the sampled token id, shape (1,). `key` makes a seeded request reproducible. */
export function sample(logprobs: MxArray, o: SamplerOptions, key: MxArray | null): MxArray {
  if (o.temperature <= 0) return argmax(logprobs, -1);
  let lp = logprobs;
  if (o.topP > 0 && o.topP < 1) lp = applyTopP(lp, o.topP);
  if (o.minP > 0) lp = applyMinP(lp, o.minP);
  if (o.topK > 0) lp = applyTopK(lp, o.topK);
  return random.categorical(multiply(lp, 1 / o.temperature), { axis: -1, key });
}

