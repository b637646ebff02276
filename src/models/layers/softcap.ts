// Logit soft-capping (Gemma 2): cap · tanh(x / cap) bounds logits smoothly to (-cap, cap). fast.sdpa cannot cap its
// scores, so capped attention is computed op by op, in mlx-lm's order (gemma2.py), which keeps it bit-identical:
// q · scale, q k^T with GQA as a broadcast over a repeats axis, cap, mask with the dtype's lowest value, precise
// softmax, · v.
import {
  arange,
  divide,
  expandDims,
  greaterEqual,
  matmul,
  multiply,
  reshape,
  softmax,
  swapaxes,
  tanh,
  where,
  type MxArray,
} from "../../ffi/index.ts";
import { causalMask, type AttentionMask } from "./kv-cache.ts";

/** cap · tanh(x / cap) */
export function softcap(x: MxArray, cap: number): MxArray {
  return multiply(tanh(divide(x, cap)), cap);
}

// mx.finfo(dtype).min: what a masked score becomes
export const LOWEST: Record<string, number> = { float32: -3.4028234663852886e38, bfloat16: -3.3895313892515355e38, float16: -65504 };

/**
 * The boolean mask (true = attend) for scores (B, Hkv, [repeats,] L, T), or null: "causal" becomes the explicit
 * bottom-right-aligned mask mlx-lm builds (create_causal_mask), a batch's padded rows their first visible key.
 */
export function booleanMask(mask: AttentionMask, B: number, L: number, T: number, grouped: boolean): MxArray | null {
  if (mask === null) return null;
  if (mask === "causal") return causalMask(L, T - L);
  if ("starts" in mask) {
    const visible = greaterEqual(reshape(arange(0, T, 1, "int32"), [1, T]), reshape(mask.starts, [B, 1]));
    return reshape(visible, grouped ? [B, 1, 1, 1, T] : [B, 1, 1, T]);
  }
  // an explicit (L, T) or (B, 1, L, T) mask: a batch axis needs the repeats axis beside the heads'
  return grouped && mask.ndim === 4 ? expandDims(mask, [2]) : mask;
}

export interface SoftcapAttentionOptions {
  scale: number;
  cap: number;
  mask: AttentionMask;
}

/** softmax(cap · tanh(q k^T · scale / cap) + mask) v for q (B, H, L, D), k/v (B, Hkv, T, D). */
export function softcappedAttention(q: MxArray, k: MxArray, v: MxArray, opts: SoftcapAttentionOptions): MxArray {
  const [B, H, L, D] = q.shape as [number, number, number, number];
  const Hkv = k.shape[1]!;
  const T = k.shape[2]!;
  const repeats = H / Hkv;
  let queries = multiply(q, opts.scale);
  let keys = k;
  let values = v;
  if (repeats > 1) {
    queries = reshape(queries, [B, Hkv, repeats, L, D]);
    keys = expandDims(k, [2]);
    values = expandDims(v, [2]);
  }
  let scores = softcap(matmul(queries, swapaxes(keys, -1, -2)), opts.cap);
  const mask = booleanMask(opts.mask, B, L, T, repeats > 1);
  if (mask) scores = where(mask, scores, LOWEST[scores.dtype] ?? -Infinity);
  const out = matmul(softmax(scores, [-1], true), values);
  return repeats > 1 ? reshape(out, [B, H, L, D]) : out;
}
