// The full-attention KV caches of a decode batch in one buffer, as mlx-lm's BatchKVCache keeps them: (B, H, T, D),
// every row right-aligned so that a step writes one column for all rows at once, the rows shorter than the longest
// padded on the left and masked out. A decode step then costs one cache update and one sdpa per layer whatever the
// batch size, instead of one per row.
//
// It is built from the rows' own caches when the batch forms, and gives each row its state back (writeBack) when
// the batch changes or the row leaves: between the two, the rows' own caches are stale. Like the model's forward
// pass, every method runs inside a scope: what it keeps it persists, the rest goes with the scope.
import { array, concatenate, contiguous, persist, slice, sliceUpdate, zeros, type MxArray } from "../../ffi/index.ts";
import { KVCache, replace, type AttentionMask, type LayerRow } from "./kv-cache.ts";

/**
 * What one attention layer of a batch gets: every row's own cache and mask, one cache holding every row, or no cache
 * at all (`encode`: whole rows from position 0 in one pass under the given mask, what a bidirectional embedder runs).
 */
export type LayerKV = { rows: readonly LayerRow[] } | { batch: BatchKVCache; mask: AttentionMask } | { encode: AttentionMask };

const STEP = 256;

export class BatchKVCache implements Disposable {
  #keys: MxArray | null = null;
  #values: MxArray | null = null;
  /** columns written (the longest row's length) */
  #idx: number;
  /** left padding of each row */
  readonly #pad: number[];

  constructor(rows: readonly KVCache[]) {
    const lengths = rows.map((r) => r.offset);
    this.#idx = Math.max(...lengths);
    this.#pad = lengths.map((n) => this.#idx - n);
    const filled = rows.map((r) => r.contents());
    const model = filled.find((f) => f !== null);
    if (!model) return; // every row empty: the buffers come with the first update
    const [H, D, Dv] = [model[0].shape[1]!, model[0].shape[3]!, model[1].shape[3]!];
    const dtype = model[0].dtype;
    const padded = (f: [MxArray, MxArray] | null, pad: number, which: 0 | 1): MxArray => {
      const d = which === 0 ? D : Dv;
      if (!f) return zeros([1, H, this.#idx, d], dtype);
      return pad > 0 ? concatenate([zeros([1, H, pad, d], dtype), f[which]], 2) : f[which];
    };
    this.#keys = persist(concatenate(filled.map((f, b) => padded(f, this.#pad[b]!, 0)), 0));
    this.#values = persist(concatenate(filled.map((f, b) => padded(f, this.#pad[b]!, 1)), 0));
  }

  get rows(): number {
    return this.#pad.length;
  }

  /** Each row's position: where its next token goes (its own length). */
  offsets(): number[] {
    return this.#pad.map((p) => this.#idx - p);
  }

  /** The same, as the int32 array (B,) RoPE takes. */
  positions(): MxArray {
    return array(this.offsets(), [this.rows], "int32");
  }

  /**
   * For `n` new queries per row (a decode step: 1): each row sees its own columns only, from its first (its
   * padding's length); null when no row is padded. sdpa then walks each row's own keys, as it would alone.
   */
  mask(n: number): AttentionMask {
    if (this.#pad.every((p) => p === 0)) return n === 1 ? null : "causal";
    if (n !== 1) throw new Error("a padded batch cache steps one token at a time");
    return { starts: array(this.#pad, [this.rows], "int32") };
  }

  /** Appends (B, H, L, D) keys/values at the next columns; returns every column written so far. */
  update(k: MxArray, v: MxArray): [MxArray, MxArray] {
    const [B, H, L, D] = k.shape as [number, number, number, number];
    const Dv = v.shape[3]!;
    if (!this.#keys || !this.#values || this.#idx + L > this.#keys.shape[2]!) {
      const grow = Math.ceil(L / STEP) * STEP;
      const newK = zeros([B, H, grow, D], k.dtype);
      const newV = zeros([B, H, grow, Dv], v.dtype);
      this.#keys = replace(this.#keys, this.#keys ? concatenate([this.#columns(this.#keys, this.#idx), newK], 2) : newK);
      this.#values = replace(this.#values, this.#values ? concatenate([this.#columns(this.#values, this.#idx), newV], 2) : newV);
    }
    const stop = this.#idx + L;
    this.#keys = replace(this.#keys, sliceUpdate(this.#keys, k, [0, 0, this.#idx, 0], [B, H, stop, D]));
    this.#values = replace(this.#values, sliceUpdate(this.#values!, v, [0, 0, this.#idx, 0], [B, H, stop, Dv]));
    this.#idx = stop;
    return [this.#columns(this.#keys, stop), this.#columns(this.#values, stop)];
  }

  /** Gives row b its state back: its own columns, copied out, become `into`'s contents. */
  writeBack(b: number, into: KVCache): void {
    const length = this.#idx - this.#pad[b]!;
    if (!this.#keys || !this.#values || length === 0) return into.assign(null);
    const row = (a: MxArray) => {
      const [, H, , D] = a.shape as [number, number, number, number];
      return contiguous(slice(a, [b, 0, this.#pad[b]!, 0], [b + 1, H, this.#idx, D]));
    };
    into.assign([row(this.#keys), row(this.#values)]);
  }

  /** The arrays to evaluate (a step's pending updates). */
  state(): MxArray[] {
    return this.#keys && this.#values ? [this.#keys, this.#values] : [];
  }

  #columns(a: MxArray, n: number): MxArray {
    const [B, H, T, D] = a.shape as [number, number, number, number];
    return n === T ? a : slice(a, [0, 0, 0, 0], [B, H, n, D]);
  }

  [Symbol.dispose](): void {
    this.#keys?.free();
    this.#values?.free();
    this.#keys = this.#values = null;
  }
}
