// DeepSeek-V3's kv_b_proj split into embed_q / unembed_out at load, as mlx-lm's deepseek_v3.sanitize splits it for
// checkpoints converted before mlx-lm absorbed it (most mlx-community DeepSeek-V3/R1 repos): per head, the first
// qk_nope_head_dim rows (transposed) embed the queries, the last v_head_dim rows unembed the output; a quantized
// kv_b_proj is dequantized, split and quantized again with its own group size and bits, op for op as mlx-lm does.
import { contiguous, dequantize, quantize, reshape, scope, slice, swapaxes, type MxArray } from "../../ffi/index.ts";
import type { Weights } from "../weights.ts";
import { MultiLinear } from "./multi-linear.ts";

export function absorbKvB(ws: Weights, path: string, heads: number, nope: number, vHeadDim: number): { embedQ: MultiLinear; unembedOut: MultiLinear } {
  const q = ws.quantFor(`${path}.kv_b_proj`);
  const w = ws.take(`${path}.kv_b_proj.weight`);
  const scales = q ? ws.take(`${path}.kv_b_proj.scales`) : null;
  const biases = q ? ws.takeOptional(`${path}.kv_b_proj.biases`) : null;
  try {
    const halves = scope(() => {
      const full = q && scales ? dequantize(w, scales, biases, { groupSize: q.groupSize, bits: q.bits, mode: q.mode }) : w;
      const rank = full.shape[1]!;
      const perHead = reshape(full, [heads, nope + vHeadDim, rank]);
      const wk = contiguous(swapaxes(slice(perHead, [0, 0, 0], [heads, nope, rank]), -1, -2));
      const wv = contiguous(slice(perHead, [0, nope, 0], [heads, nope + vHeadDim, rank]));
      if (!q) return { wk: [wk], wv: [wv] };
      const qk = quantize(wk, { groupSize: q.groupSize, bits: q.bits, mode: q.mode });
      const qv = quantize(wv, { groupSize: q.groupSize, bits: q.bits, mode: q.mode });
      return { wk: [qk.wq, qk.scales, ...(qk.biases ? [qk.biases] : [])], wv: [qv.wq, qv.scales, ...(qv.biases ? [qv.biases] : [])] };
    });
    const multi = (parts: MxArray[]) => new MultiLinear(parts[0]!, parts[1] ?? null, parts[2] ?? null, q);
    return { embedQ: multi(halves.wk), unembedOut: multi(halves.wv) };
  } finally {
    for (const a of [w, scales, biases]) a?.free();
  }
}
