// Multi-head attention with GQA (native in fast.sdpa: K/V are never repeated), RoPE, optional per-head
// q/k norms, fused or separate projections.
import { array, concatenate, reshape, sdpa, split, transpose, type MxArray } from "../../ffi/index.ts";
import type { Weights } from "../weights.ts";
import type { AttentionMask, LayerCache } from "./kv-cache.ts";
import type { LayerKV } from "./batch-cache.ts";
import { Linear } from "./linear.ts";
import type { RMSNorm } from "./norm.ts";
import type { Rope } from "./rope.ts";

export interface AttentionShape {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  scale: number;
}

export interface AttentionParts {
  /** separate q/k/v projections, or one fused qkv_proj split [q | k | v] (phi3) */
  proj: { q: Linear; k: Linear; v: Linear } | { qkv: Linear };
  o: Linear;
  rope: Rope;
  qNorm?: RMSNorm;
  kNorm?: RMSNorm;
}

export class Attention implements Disposable {
  constructor(
    readonly shape: AttentionShape,
    private readonly parts: AttentionParts,
  ) {}

  /** Loads q_proj/k_proj/v_proj/o_proj (or qkv_proj) under `path`. */
  static loadProjections(ws: Weights, path: string, fused = false): AttentionParts["proj"] & { o: Linear } {
    const o = Linear.load(ws, `${path}.o_proj`);
    if (fused) return { qkv: Linear.load(ws, `${path}.qkv_proj`), o };
    return { q: Linear.load(ws, `${path}.q_proj`), k: Linear.load(ws, `${path}.k_proj`), v: Linear.load(ws, `${path}.v_proj`), o };
  }

  /**
   * x: (B, L, hidden), one row per sequence of a batch. The projections run on the whole batch (a decode step
   * reads each weight once for all rows), and so does RoPE, each row at its own position. With a batch cache the
   * update and sdpa do too; with the rows' own caches (of different kinds or lengths) they run per row.
   */
  forward(x: MxArray, kv: LayerKV): MxArray {
    const [B, L] = x.shape as [number, number, number];
    const { nHeads, nKvHeads, headDim } = this.shape;
    const p = this.parts;
    let q: MxArray, k: MxArray, v: MxArray;
    if ("qkv" in p.proj) {
      const qSize = nHeads * headDim;
      [q, k, v] = split(p.proj.qkv.forward(x), [qSize, qSize + nKvHeads * headDim], -1) as [MxArray, MxArray, MxArray];
    } else {
      q = p.proj.q.forward(x);
      k = p.proj.k.forward(x);
      v = p.proj.v.forward(x);
    }
    q = reshape(q, [B, L, nHeads, headDim]);
    k = reshape(k, [B, L, nKvHeads, headDim]);
    // q/k norms act per head, before the heads move to axis 1 and before RoPE.
    if (p.qNorm) q = p.qNorm.forward(q);
    if (p.kNorm) k = p.kNorm.forward(k);
    q = transpose(q, [0, 2, 1, 3]);
    k = transpose(k, [0, 2, 1, 3]);
    v = transpose(reshape(v, [B, L, nKvHeads, headDim]), [0, 2, 1, 3]);
    let out: MxArray;
    if ("encode" in kv) {
      out = sdpa(p.rope.apply(q, 0), p.rope.apply(k, 0), v, { scale: this.shape.scale, mask: kv.encode });
      return p.o.forward(reshape(transpose(out, [0, 2, 1, 3]), [B, L, nHeads * headDim]));
    }
    if ("batch" in kv) {
      const positions = kv.batch.positions();
      q = this.rotateRows(q, positions, kv.batch.offsets());
      k = this.rotateRows(k, positions, kv.batch.offsets());
      const [keys, values] = kv.batch.update(k, v);
      out = sdpa(q, keys, values, { scale: this.shape.scale, mask: kv.mask });
      return p.o.forward(reshape(transpose(out, [0, 2, 1, 3]), [B, L, nHeads * headDim]));
    }
    const rows = kv.rows;
    if (rows.length === 1) {
      const { cache, mask } = rows[0]!;
      out = this.attend(p.rope.apply(q, cache.offset), p.rope.apply(k, cache.offset), v, cache, mask);
    } else {
      const positions = p.rope.perRowOffsets ? array(rows.map((r) => r.cache.offset), [B], "int32") : null;
      if (positions) {
        q = p.rope.apply(q, positions);
        k = p.rope.apply(k, positions);
      }
      // One split per array (a single MLX op) rather than a slice per row.
      const [qs, ks, vs] = [split(q, B, 0), split(k, B, 0), split(v, B, 0)];
      out = concatenate(
        rows.map(({ cache, mask }, b) => {
          const [qb, kb] = positions ? [qs[b]!, ks[b]!] : [p.rope.apply(qs[b]!, cache.offset), p.rope.apply(ks[b]!, cache.offset)];
          return this.attend(qb, kb, vs[b]!, cache, mask);
        }),
        0,
      );
    }
    return p.o.forward(reshape(transpose(out, [0, 2, 1, 3]), [B, L, nHeads * headDim]));
  }

  /** Each row of x (B, H, L, D) rotated from its own position. */
  private rotateRows(x: MxArray, positions: MxArray, offsets: number[]): MxArray {
    const rope = this.parts.rope;
    if (rope.perRowOffsets) return rope.apply(x, positions);
    return concatenate(split(x, offsets.length, 0).map((row, b) => rope.apply(row, offsets[b]!)), 0);
  }

  /** q and k already rotated to their positions. */
  private attend(q: MxArray, k: MxArray, v: MxArray, cache: LayerCache, mask: AttentionMask): MxArray {
    const [keys, values] = cache.update(k, v);
    return sdpa(q, keys, values, { scale: this.shape.scale, mask });
  }

  [Symbol.dispose](): void {
    const p = this.parts;
    if ("qkv" in p.proj) p.proj.qkv[Symbol.dispose]();
    else for (const l of [p.proj.q, p.proj.k, p.proj.v]) l[Symbol.dispose]();
    p.o[Symbol.dispose]();
    p.rope[Symbol.dispose]();
    p.qNorm?.[Symbol.dispose]();
    p.kNorm?.[Symbol.dispose]();
  }
}

