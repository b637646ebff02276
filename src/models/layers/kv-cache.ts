// KV caches in mlx-lm's semantics (models/cache.py). The cache owns its buffers outside any scope
// (`persist`), and frees the previous buffer as soon as the update is recorded so that MLX can donate it:
// a slice_update on a buffer nobody else holds writes in place instead of copying the whole cache.
import {
  arange,
  concatenate,
  expandDims,
  greaterEqual,
  less,
  logicalAnd,
  add,
  persist,
  retain,
  slice,
  sliceUpdate,
  zeros,
  type MxArray,
} from "../../ffi/index.ts";

/**
 * What sdpa is told: nothing, "causal" (bottom-right aligned), a boolean array (true = attend), or each row's first
 * key (a batch cache's rows padded on the left).
 */
export type AttentionMask = null | "causal" | MxArray | { starts: MxArray };

/** One batch row as a layer sees it: that sequence's cache for the layer, and the mask its queries get. */
export interface LayerRow {
  cache: LayerCache;
  mask: AttentionMask;
}

/** Frees every layer's buffers (a model's caches are disposed together). */
export function disposeCaches(caches: readonly LayerCache[]): void {
  for (const c of caches) c[Symbol.dispose]();
}

export interface LayerCache extends Disposable {
  readonly offset: number;
  /** Appends (B, H, L, D) keys/values; returns everything the new queries attend to. */
  update(keys: MxArray, values: MxArray): [MxArray, MxArray];
  makeMask(n: number, windowSize?: number): AttentionMask;
  /** The arrays to evaluate after a prefill chunk. */
  state(): MxArray[];
  /** Bytes its buffers hold (allocated ahead in steps, so at least what `offset` positions take). */
  readonly nbytes: number;
  /** Whether the last n positions can be dropped exactly (a ring buffer that has wrapped no longer has them all). */
  canTrim(n: number): boolean;
  /** Drops the last n positions: the next update writes where they were. */
  trim(n: number): void;
  /** A cache over the same buffers, owned separately; an update to either copies, it never shows in the other. */
  clone(): LayerCache;
}

/** mlx-lm's create_causal_mask: query i (at offset+i) sees key j iff j <= offset+i (and within the window). */
export function causalMask(n: number, offset: number, windowSize?: number): MxArray {
  const rinds = arange(0, offset + n);
  const linds = expandDims(arange(offset, offset + n), [1]);
  const r = expandDims(rinds, [0]);
  let mask = greaterEqual(linds, r);
  if (windowSize !== undefined) mask = logicalAnd(mask, less(linds, add(r, windowSize)));
  return mask;
}

/** Keeps `next` outside any scope in place of `old`, which is freed (so that MLX can donate its buffer). */
export function replace(old: MxArray | null, next: MxArray): MxArray {
  const kept = persist(next);
  old?.free();
  return kept;
}

function seqSlice(a: MxArray, start: number, stop: number): MxArray {
  const s = a.shape;
  return slice(a, [0, 0, start, 0], [s[0]!, s[1]!, stop, s[3]!]);
}

/** Keys and values held outside any scope, and what every cache returns and frees the same way. */
abstract class BufferedCache implements LayerCache {
  protected keys: MxArray | null = null;
  protected values: MxArray | null = null;
  offset = 0;

  protected abstract empty(): BufferedCache;
  abstract update(keys: MxArray, values: MxArray): [MxArray, MxArray];
  abstract makeMask(n: number, windowSize?: number): AttentionMask;

  /** The filled part of the buffers (they are allocated ahead in steps). */
  protected filled(): [MxArray, MxArray] {
    const k = this.keys!;
    const v = this.values!;
    if (this.offset < k.shape[2]!) return [seqSlice(k, 0, this.offset), seqSlice(v, 0, this.offset)];
    return [k, v];
  }

  state(): MxArray[] {
    return this.keys && this.values ? [this.keys, this.values] : [];
  }

  get nbytes(): number {
    return (this.keys?.nbytes ?? 0) + (this.values?.nbytes ?? 0);
  }

  canTrim(n: number): boolean {
    return n <= this.offset;
  }

  trim(n: number): void {
    if (!this.canTrim(n)) throw new Error(`cannot trim ${n} of ${this.offset} cached positions`);
    this.offset -= n;
  }

  clone(): LayerCache {
    const c = this.empty();
    c.copyFrom(this);
    return c;
  }

  protected copyFrom(other: BufferedCache): void {
    this.keys = other.keys ? retain(other.keys) : null;
    this.values = other.values ? retain(other.values) : null;
    this.offset = other.offset;
  }

  [Symbol.dispose](): void {
    this.keys?.free();
    this.values?.free();
    this.keys = this.values = null;
  }
}

export class KVCache extends BufferedCache {
  static readonly step = 256;

  protected empty(): BufferedCache {
    return new KVCache();
  }

  update(k: MxArray, v: MxArray): [MxArray, MxArray] {
    const prev = this.offset;
    const L = k.shape[2]!;
    if (!this.keys || !this.values || prev + L > this.keys.shape[2]!) {
      const [B, H, , Dk] = k.shape as [number, number, number, number];
      const Dv = v.shape[3]!;
      const nSteps = Math.ceil(L / KVCache.step) || 1;
      const newK = zeros([B, H, nSteps * KVCache.step, Dk], k.dtype);
      const newV = zeros([B, H, nSteps * KVCache.step, Dv], v.dtype);
      if (this.keys && this.values) {
        const oldK = prev % KVCache.step !== 0 ? seqSlice(this.keys, 0, prev) : this.keys;
        const oldV = prev % KVCache.step !== 0 ? seqSlice(this.values, 0, prev) : this.values;
        this.keys = replace(this.keys, concatenate([oldK, newK], 2));
        this.values = replace(this.values, concatenate([oldV, newV], 2));
      } else {
        this.keys = replace(null, newK);
        this.values = replace(null, newV);
      }
    }
    this.offset += L;
    const [B, H] = this.keys.shape as [number, number, number, number];
    this.keys = replace(this.keys, sliceUpdate(this.keys, k, [0, 0, prev, 0], [B, H, this.offset, k.shape[3]!]));
    this.values = replace(
      this.values!,
      sliceUpdate(this.values!, v, [0, 0, prev, 0], [B, H, this.offset, v.shape[3]!]),
    );
    return this.filled();
  }

  makeMask(n: number, windowSize?: number): AttentionMask {
    if (windowSize !== undefined) return causalMask(n, this.offset, windowSize);
    return n === 1 ? null : "causal";
  }

  /** The keys and values of the `offset` positions held, or null when empty (what a batch cache is built from). */
  contents(): [MxArray, MxArray] | null {
    return this.keys && this.values && this.offset > 0 ? this.filled() : null;
  }

  /** Holds exactly these keys/values (1, H, n, D) from now on (a batch cache giving a row back), or nothing. */
  assign(kv: [MxArray, MxArray] | null): void {
    this.keys?.free();
    this.values?.free();
    this.keys = kv ? persist(kv[0]) : null;
    this.values = kv ? persist(kv[1]) : null;
    this.offset = kv ? kv[0].shape[2]! : 0;
  }
}

/** A ring buffer of the last `maxSize` positions (plus `keep` sink positions), for sliding-window layers. */
export class RotatingKVCache extends BufferedCache {
  static readonly step = 256;
  private idx = 0;

  constructor(
    readonly maxSize: number,
    readonly keep = 0,
  ) {
    super();
  }

  protected empty(): BufferedCache {
    return new RotatingKVCache(this.maxSize, this.keep);
  }

  protected override copyFrom(other: BufferedCache): void {
    super.copyFrom(other);
    this.idx = (other as RotatingKVCache).idx;
  }

  // As mlx-lm's RotatingKVCache.is_trimmable: exact only while nothing has been overwritten (offset < maxSize).
  override canTrim(n: number): boolean {
    return n <= this.offset && this.offset < this.maxSize;
  }

  override trim(n: number): void {
    super.trim(n);
    this.idx -= n;
  }

  private trimFront(trimSize: number, v: MxArray, append?: MxArray): MxArray {
    const parts: MxArray[] = [];
    if (trimSize > 0) {
      parts.push(seqSlice(v, 0, this.keep), seqSlice(v, trimSize + this.keep, v.shape[2]!));
    } else parts.push(v);
    if (append) parts.push(append);
    return parts.length === 1 ? parts[0]! : concatenate(parts, 2);
  }

  private temporalOrder(v: MxArray): MxArray {
    const T = v.shape[2]!;
    if (this.idx === T) return v;
    if (this.idx < this.offset) {
      return concatenate([seqSlice(v, 0, this.keep), seqSlice(v, this.idx, T), seqSlice(v, this.keep, this.idx)], 2);
    }
    return seqSlice(v, 0, this.idx);
  }

  private updateConcat(k: MxArray, v: MxArray): [MxArray, MxArray] {
    if (!this.keys || !this.values) {
      this.keys = replace(null, k);
      this.values = replace(null, v);
    } else {
      const ordK = this.temporalOrder(this.keys);
      const ordV = this.temporalOrder(this.values);
      this.idx = ordK.shape[2]!;
      // Up to maxSize + L - 1 positions stay, so every new query sees a full window.
      const trimSize = this.idx - this.maxSize + 1;
      this.keys = replace(this.keys, this.trimFront(trimSize, ordK, k));
      this.values = replace(this.values, this.trimFront(trimSize, ordV, v));
    }
    this.offset += k.shape[2]!;
    this.idx = this.keys.shape[2]!;
    return [this.keys, this.values];
  }

  private updateInPlace(k: MxArray, v: MxArray): [MxArray, MxArray] {
    const [B, H, S, Dk] = k.shape as [number, number, number, number];
    const prev = this.offset;
    if (!this.keys || !this.values || (prev >= this.keys.shape[2]! && this.keys.shape[2]! < this.maxSize)) {
      const newSize = Math.min(RotatingKVCache.step, this.maxSize - prev);
      const newK = zeros([B, H, newSize, Dk], k.dtype);
      const newV = zeros([B, H, newSize, v.shape[3]!], v.dtype);
      if (this.keys && this.values) {
        this.keys = replace(this.keys, concatenate([this.keys, newK], 2));
        this.values = replace(this.values, concatenate([this.values, newV], 2));
      } else {
        this.keys = replace(null, newK);
        this.values = replace(null, newV);
      }
      this.idx = prev;
    }
    const trimSize = this.keys.shape[2]! - this.maxSize;
    if (trimSize > 0) {
      this.keys = replace(this.keys, this.trimFront(trimSize, this.keys));
      this.values = replace(this.values!, this.trimFront(trimSize, this.values!));
      this.idx = this.maxSize;
    }
    if (this.idx === this.maxSize) this.idx = this.keep;
    const stop = this.idx + S;
    this.keys = replace(this.keys, sliceUpdate(this.keys, k, [0, 0, this.idx, 0], [B, H, stop, Dk]));
    this.values = replace(this.values!, sliceUpdate(this.values!, v, [0, 0, this.idx, 0], [B, H, stop, v.shape[3]!]));
    this.offset += S;
    this.idx += S;
    return this.filled();
  }

  update(k: MxArray, v: MxArray): [MxArray, MxArray] {
    return k.shape[2] === 1 ? this.updateInPlace(k, v) : this.updateConcat(k, v);
  }

  makeMask(n: number, windowSize?: number): AttentionMask {
    if (n > 1) {
      const window = windowSize ?? this.maxSize;
      const offset = Math.min(this.maxSize - 1, this.offset);
      return offset + n > window ? causalMask(n, offset, window) : "causal";
    }
    if (windowSize === undefined) return null;
    if (this.offset >= windowSize && this.maxSize > windowSize) {
      throw new Error("a sliding window smaller than the rotating cache is not supported");
    }
    return null;
  }

}
