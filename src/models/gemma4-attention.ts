// Gemma 4's attention: per-head q/k RMSNorms and a scale-free v norm, scale 1, K = V in the full layers of the large
// models (attention_k_eq_v), and KV sharing: the last num_kv_shared_layers layers have no K/V projections and attend
// to the keys and values (and positions, and mask) that the last earlier layer of their type made in this same
// forward pass (mlx-lm's gemma4_text previous_kvs). Such a layer keeps no cache; SharedKVCache only counts its
// positions so that the engine sees every layer at the same offset.
import { concatenate, reshape, rmsNorm, sdpa, split, transpose, type MxArray } from "../ffi/index.ts";
import type { LayerKV } from "./layers/batch-cache.ts";
import type { AttentionMask, LayerCache } from "./layers/kv-cache.ts";
import type { Linear } from "./layers/linear.ts";
import type { RMSNorm } from "./layers/norm.ts";
import type { Rope } from "./layers/rope.ts";
import { disposeAll } from "./dispose.ts";

/** What a KV-owning layer leaves for the layers that share its keys and values, per batch row or for the batch. */
type SharedKV =
  | { rows: { keys: MxArray; values: MxArray; offset: number; mask: AttentionMask }[] }
  | { batch: { keys: MxArray; values: MxArray; positions: MxArray; mask: AttentionMask } }
  | { encode: { keys: MxArray; values: MxArray; mask: AttentionMask } };

export interface Gemma4Projections {
  q: Linear;
  o: Linear;
  qNorm: RMSNorm;
  /** null in a KV-shared layer; v null when V = K (attention_k_eq_v) */
  kv: { k: Linear; v: Linear | null; kNorm: RMSNorm } | null;
}

export class Gemma4Attention implements Disposable {
  /** this forward pass's keys and values, for the layers that share them */
  private made: SharedKV | null = null;

  constructor(
    private readonly shape: { nHeads: number; nKvHeads: number; headDim: number; eps: number },
    private readonly p: Gemma4Projections,
    private readonly rope: Rope,
    /** the layer whose keys and values this one attends to (a KV-shared layer), else null */
    private readonly source: Gemma4Attention | null,
  ) {}

  forward(x: MxArray, kv: LayerKV): MxArray {
    const [B, L] = x.shape as [number, number, number];
    const { nHeads, headDim } = this.shape;
    const q = transpose(this.p.qNorm.forward(reshape(this.p.q.forward(x), [B, L, nHeads, headDim])), [0, 2, 1, 3]);
    const shared = this.source ? this.source.take(kv, L) : this.keysValues(x, kv);
    let out: MxArray;
    if ("encode" in shared) out = sdpa(this.rope.apply(q, 0), shared.encode.keys, shared.encode.values, { scale: 1, mask: shared.encode.mask });
    else if ("batch" in shared) {
      const s = shared.batch;
      out = sdpa(this.rope.apply(q, s.positions), s.keys, s.values, { scale: 1, mask: s.mask });
    } else {
      const qs = shared.rows.length === 1 ? [q] : split(q, shared.rows.length, 0);
      out = concatenate(shared.rows.map((r, b) => sdpa(this.rope.apply(qs[b]!, r.offset), r.keys, r.values, { scale: 1, mask: r.mask })), 0);
    }
    return this.p.o.forward(reshape(transpose(out, [0, 2, 1, 3]), [B, L, nHeads * headDim]));
  }

  /** A KV-shared layer's view of what this layer made; its own caches (SharedKVCache) only count the positions. */
  private take(kv: LayerKV, L: number): SharedKV {
    if (!this.made) throw new Error("gemma4: a KV-shared layer ran before the layer it shares with");
    if ("rows" in kv) for (const r of kv.rows) (r.cache as SharedKVCache).advance(L);
    return this.made;
  }

  /** Projects, normalizes and rotates this layer's keys and values, updates the caches; keeps them for sharers. */
  private keysValues(x: MxArray, kv: LayerKV): SharedKV {
    const [B, L] = x.shape as [number, number, number];
    const { nKvHeads, headDim, eps } = this.shape;
    const proj = this.p.kv!;
    const raw = reshape(proj.k.forward(x), [B, L, nKvHeads, headDim]);
    const rawV = proj.v ? reshape(proj.v.forward(x), [B, L, nKvHeads, headDim]) : raw;
    const k = transpose(proj.kNorm.forward(raw), [0, 2, 1, 3]);
    const v = transpose(rmsNorm(rawV, null, eps), [0, 2, 1, 3]);
    if ("encode" in kv) {
      this.made = { encode: { keys: this.rope.apply(k, 0), values: v, mask: kv.encode } };
    } else if ("batch" in kv) {
      const positions = kv.batch.positions();
      const [keys, values] = kv.batch.update(this.rope.apply(k, positions), v);
      this.made = { batch: { keys, values, positions, mask: kv.mask } };
    } else {
      const ks = kv.rows.length === 1 ? [k] : split(k, kv.rows.length, 0);
      const vs = kv.rows.length === 1 ? [v] : split(v, kv.rows.length, 0);
      this.made = {
        rows: kv.rows.map(({ cache, mask }, b) => {
          const offset = cache.offset;
          const [keys, values] = cache.update(this.rope.apply(ks[b]!, offset), vs[b]!);
          return { keys, values, offset, mask };
        }),
      };
    }
    return this.made;
  }

  [Symbol.dispose](): void {
    const { q, o, qNorm, kv } = this.p;
    disposeAll(q, o, qNorm, kv?.k, kv?.v, kv?.kNorm, this.rope);
  }
}

/** A KV-shared layer's cache: no buffers, only the count of positions its sequence has gone through. */
export class SharedKVCache implements LayerCache {
  offset = 0;
  readonly nbytes = 0;

  advance(n: number): void {
    this.offset += n;
  }

  update(keys: MxArray, values: MxArray): [MxArray, MxArray] {
    this.offset += keys.shape[2]!;
    return [keys, values];
  }

  makeMask(): AttentionMask {
    return null; // never used: a shared layer attends under its source layer's mask
  }

  state(): MxArray[] {
    return [];
  }

  canTrim(n: number): boolean {
    return n <= this.offset;
  }

  trim(n: number): void {
    this.offset -= n;
  }

  clone(): LayerCache {
    const c = new SharedKVCache();
    c.offset = this.offset;
    return c;
  }

  [Symbol.dispose](): void {}
}
