// What the engine sees of an embedding model: a padded batch of token ids and its mask in, one vector per row
// out. The encoder's hidden states are pooled as the model's sentence-transformers config (or GGUF's pooling
// type) says; normalizing is the server's job (Ollama normalizes in its /api/embed handler, not in the model).
import { astype, divide, expandDims, multiply, sum, takeAlongAxis, maximum, reshape, slice, subtract, type MxArray } from "../ffi/index.ts";

/** sentence-transformers' pooling modes that ollmlx runs (1_Pooling/config.json, GGUF `<arch>.pooling_type`). */
export type Pooling = "mean" | "cls" | "last";

export interface EncoderModel extends Disposable {
  readonly modelType: string;
  /** the vector length (hidden size) */
  readonly hiddenSize: number;
  /** longest input, in tokens, the position embeddings allow */
  readonly contextLength: number;
  /** ids (B, L) int32, mask (B, L) int32 (1 = token, 0 = padding) → hidden states (B, L, hidden) */
  forward(ids: MxArray, mask: MxArray): MxArray;
}

/** hidden (B, L, H), mask (B, L) int32 → (B, H) float32. Padding never contributes. */
export function pool(hidden: MxArray, mask: MxArray, mode: Pooling): MxArray {
  const [B, , H] = hidden.shape as [number, number, number];
  const h = astype(hidden, "float32");
  if (mode === "cls") return reshape(slice(h, [0, 0, 0], [B, 1, H]), [B, H]);
  const m = astype(mask, "float32");
  if (mode === "mean") {
    const total = sum(multiply(h, expandDims(m, -1)), 1);
    return divide(total, maximum(sum(m, 1, true), 1e-9));
  }
  // last: the last real token of each row (rows are right-padded)
  const last = subtract(sum(astype(mask, "int32"), 1, true), 1);
  return reshape(takeAlongAxis(h, expandDims(maximum(last, 0), -1), 1), [B, H]);
}
