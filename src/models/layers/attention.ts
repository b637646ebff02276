// Multi-head attention with GQA (native in fast.sdpa: K/V are never repeated), RoPE (or none: NoPE layers), optional
// q/k norms (per head, or over the whole projection as OLMo 2 has them), fused or separate projections, Gemma 2's
// tanh-capped attention logits, gpt-oss's per-head sinks (layers/sinks.ts), and Qwen3.5's sigmoid output gate.
import { array, concatenate, multiply, reshape, sdpa, sigmoid, split, transpose, type MxArray } from "../../ffi/index.ts";
import { sinkMask } from "./sinks.ts";
import { queryScale, type QueryScale } from "./query-scale.ts";
import { softcappedAttention } from "./softcap.ts";
import type { Weights } from "../weights.ts";
import type { AttentionMask, LayerCache } from "./kv-cache.ts";
import type { LayerKV } from "./batch-cache.ts";
import { Linear } from "./linear.ts";
import type { RMSNorm } from "./norm.ts";
import type { Rope } from "./rope.ts";
import { disposeAll } from "../dispose.ts";

export interface AttentionShape {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  scale: number;
  /** Gemma 2: attention logits become cap · tanh(logits / cap) (sdpa cannot, so the scores are computed as mlx-lm does) */
  softcap?: number;
}

export interface AttentionParts {
  /** separate q/k/v projections, or one fused qkv_proj split [q | k | v] (phi3) */
  proj: { q: Linear; k: Linear; v: Linear } | { qkv: Linear };
  o: Linear;
  /** null: no position embedding in this layer (NoPE: SmolLM3's every 4th layer, Command R7B's global layers) */
  rope: Rope | null;
  qNorm?: RMSNorm;
  kNorm?: RMSNorm;
  /** the q/k norms act on the whole projection (OLMo 2) instead of per head (Qwen 3, Gemma 3) */
  qkNormAcrossHeads?: boolean;
  /** Ministral 3: queries scaled by their position (Llama 4's attention temperature), after RoPE */
  queryScale?: QueryScale;
  /** gpt-oss: a learned logit per head (n_heads,) that joins every query's softmax and takes no value */
  sinks?: MxArray;
  /** Qwen3.5 / Qwen3-Next: q_proj gives each head [queries | gate]; the output is scaled by sigmoid(gate) before o_proj */
  outputGate?: boolean;
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
    let gate: MxArray | null = null;
    if (p.outputGate) {
      [q, gate] = split(reshape(q, [B, L, nHeads, 2 * headDim]), 2, -1) as [MxArray, MxArray];
      gate = reshape(gate, [B, L, nHeads * headDim]);
    }
    if (p.qkNormAcrossHeads) {
      if (p.qNorm) q = p.qNorm.forward(q);
      if (p.kNorm) k = p.kNorm.forward(k);
    }
    q = reshape(q, [B, L, nHeads, headDim]);
    k = reshape(k, [B, L, nKvHeads, headDim]);
    // q/k norms act per head, before the heads move to axis 1 and before RoPE.
    if (!p.qkNormAcrossHeads) {
      if (p.qNorm) q = p.qNorm.forward(q);
      if (p.kNorm) k = p.kNorm.forward(k);
    }
    q = transpose(q, [0, 2, 1, 3]);
    k = transpose(k, [0, 2, 1, 3]);
    v = transpose(reshape(v, [B, L, nKvHeads, headDim]), [0, 2, 1, 3]);
    let out: MxArray;
    if ("encode" in kv) {
      out = this.sdpa(this.scaleQueries(this.rotate(q, 0), 0), this.rotate(k, 0), v, kv.encode);
      return this.project(out, gate);
    }
    if ("batch" in kv) {
      const positions = kv.batch.positions();
      q = this.scaleQueries(this.rotateRows(q, positions, kv.batch.offsets()), positions);
      k = this.rotateRows(k, positions, kv.batch.offsets());
      const [keys, values] = kv.batch.update(k, v);
      out = this.sdpa(q, keys, values, kv.mask);
      return this.project(out, gate);
    }
    const rows = kv.rows;
    if (rows.length === 1) {
      const { cache, mask } = rows[0]!;
      out = this.attend(this.scaleQueries(this.rotate(q, cache.offset), cache.offset), this.rotate(k, cache.offset), v, cache, mask);
    } else {
      const positions = p.rope?.perRowOffsets ? array(rows.map((r) => r.cache.offset), [B], "int32") : null;
      if (positions) {
        q = this.scaleQueries(this.rotate(q, positions), positions);
        k = this.rotate(k, positions);
      }
      // One split per array (a single MLX op) rather than a slice per row.
      const [qs, ks, vs] = [split(q, B, 0), split(k, B, 0), split(v, B, 0)];
      out = concatenate(
        rows.map(({ cache, mask }, b) => {
          const [qb, kb] = positions
            ? [qs[b]!, ks[b]!]
            : [this.scaleQueries(this.rotate(qs[b]!, cache.offset), cache.offset), this.rotate(ks[b]!, cache.offset)];
          return this.attend(qb, kb, vs[b]!, cache, mask);
        }),
        0,
      );
    }
    return this.project(out, gate);
  }

  /** The heads' outputs (B, H, L, D) → (B, L, hidden): gated where the architecture gates them, then o_proj. */
  private project(out: MxArray, gate: MxArray | null): MxArray {
    const [B, , L] = out.shape as [number, number, number, number];
    const merged = reshape(transpose(out, [0, 2, 1, 3]), [B, L, this.shape.nHeads * this.shape.headDim]);
    return this.parts.o.forward(gate ? multiply(merged, sigmoid(gate)) : merged);
  }

  /** x (B, H, L, D) rotated from `offset` (per row: an int32 array (B,)); unchanged in a NoPE layer. */
  private rotate(x: MxArray, offset: number | MxArray): MxArray {
    return this.parts.rope ? this.parts.rope.apply(x, offset) : x;
  }

  /** Rotated queries (B, H, L, D) from `offset` times their position's scale, where the architecture has one. */
  private scaleQueries(q: MxArray, offset: number | MxArray): MxArray {
    const s = this.parts.queryScale;
    return s ? multiply(q, queryScale(s, q.shape[2]!, offset, q.dtype)) : q;
  }

  /** Each row of x (B, H, L, D) rotated from its own position. */
  private rotateRows(x: MxArray, positions: MxArray, offsets: number[]): MxArray {
    const rope = this.parts.rope;
    if (!rope) return x;
    if (rope.perRowOffsets) return rope.apply(x, positions);
    return concatenate(split(x, offsets.length, 0).map((row, b) => rope.apply(row, offsets[b]!)), 0);
  }

  /** q and k already rotated to their positions. */
  private attend(q: MxArray, k: MxArray, v: MxArray, cache: LayerCache, mask: AttentionMask): MxArray {
    const [keys, values] = cache.update(k, v);
    return this.sdpa(q, keys, values, mask);
  }

  private sdpa(q: MxArray, keys: MxArray, values: MxArray, mask: AttentionMask): MxArray {
    const { scale, softcap } = this.shape;
    if (softcap !== undefined) return softcappedAttention(q, keys, values, { scale, cap: softcap, mask });
    const sinks = this.parts.sinks;
    if (sinks) return sdpa(q, keys, values, { scale, mask: sinkMask(mask, q.shape[2]!, keys.shape[2]!), sinks });
    return sdpa(q, keys, values, { scale, mask });
  }

  [Symbol.dispose](): void {
    const p = this.parts;
    disposeAll(Object.values(p.proj), p.o, p.rope, p.qNorm, p.kNorm, p.sinks);
  }
}

