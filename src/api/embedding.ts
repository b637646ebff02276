// Shaping a model's pooled vectors for the wire, as Ollama's EmbedHandler does: L2-normalized, then with
// `dimensions` cut to that length and normalized again (Matryoshka-style truncation). /api/embeddings skips it.
import { InvalidRequestError } from "./errors.ts";

export function normalize(v: readonly number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  if (!Number.isFinite(sum)) throw new Error("the model returned an embedding that is not finite (NaN or Inf)");
  const norm = Math.sqrt(sum);
  return norm > 0 ? v.map((x) => x / norm) : [...v];
}

/** A request's `dimensions` against the model's vector length: absent or 0 keeps it whole; more is a 400. */
export function checkDimensions(dimensions: number | null | undefined, length: number | undefined): void {
  if (dimensions === null || dimensions === undefined || dimensions === 0) return;
  if (!Number.isInteger(dimensions) || dimensions < 0) throw new InvalidRequestError("dimensions must be a positive integer");
  if (length !== undefined && dimensions > length) {
    throw new InvalidRequestError(`dimensions ${dimensions} is larger than the model's embedding length ${length}`);
  }
}

export function shapeEmbedding(v: readonly number[], dimensions: number | null | undefined): number[] {
  checkDimensions(dimensions, v.length);
  const unit = normalize(v);
  return dimensions && dimensions < unit.length ? normalize(unit.slice(0, dimensions)) : unit;
}
