// Attention sinks (gpt-oss): MLX's fast sdpa takes them (mlx-lm passes `sinks=` straight through), and the shim
// hands every sdpa with sinks to MLX's op, since its own CPU attention kernel has none. The one mask that op cannot
// take is a padded batch cache's `{ starts }` (the shim's sdpa_padded has no sinks): it becomes the boolean mask
// the shim would draw for it.
import { add, arange, greaterEqual, lessEqual, logicalAnd, reshape, type MxArray } from "../../ffi/index.ts";
import type { AttentionMask } from "./kv-cache.ts";

/** The mask to give sdpa alongside sinks: unchanged, except a padded batch's starts as an array mask. */
export function sinkMask(mask: AttentionMask, queries: number, keys: number): null | "causal" | MxArray {
  if (mask === null || mask === "causal" || !("starts" in mask)) return mask;
  // key j of row b is visible from starts[b] on, and causally (query i sits at column keys - queries + i)
  const cols = reshape(arange(0, keys, 1, "int32"), [1, 1, 1, keys]);
  const rows = reshape(add(arange(0, queries, 1, "int32"), keys - queries), [1, 1, queries, 1]);
  return logicalAnd(greaterEqual(cols, reshape(mask.starts, [-1, 1, 1, 1])), lessEqual(cols, rows));
}
