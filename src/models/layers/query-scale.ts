// Llama 4's attention temperature by position (Ministral 3): queries × 1 + β·log(1 + floor(position / n)), exactly 1
// within the first n positions (the original context), growing slowly past it. Computed as mlx-lm's
// _get_llama_4_attn_scale computes it, in float32, then cast to the queries' dtype.
import { add, arange, astype, divide, floor, log, multiply, reshape, type MxArray } from "../../ffi/index.ts";

export interface QueryScale {
  beta: number;
  /** original_max_position_embeddings */
  period: number;
}

/**
 * The factor for L queries from `offset` (B, H, L, D): (L, 1), or per row (B, 1, L, 1) when each row has its own
 * offset (an int32 array (B,)).
 */
export function queryScale(s: QueryScale, L: number, offset: number | MxArray, dtype: MxArray["dtype"]): MxArray {
  const steps = arange(0, L, 1, "int32");
  const positions = typeof offset === "number" ? add(steps, offset) : add(reshape(steps, [1, L]), reshape(offset, [offset.shape[0]!, 1]));
  const scale = add(multiply(log(add(floor(divide(positions, s.period)), 1)), s.beta), 1);
  return astype(typeof offset === "number" ? reshape(scale, [L, 1]) : reshape(scale, [offset.shape[0]!, 1, L, 1]), dtype);
}
