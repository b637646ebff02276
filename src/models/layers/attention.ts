// Multi-head attention with GQA (native in fast.sdpa: K/V are never repeated), RoPE, optional per-head
// q/k norms, fused or separate projections.
import { reshape, sdpa, split, transpose, type MxArray } from "../../ffi/index.ts";
import type { Weights } from "../weights.ts";
import type { AttentionMask, LayerCache } from "./kv-cache.ts";
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

  forward(x: MxArray, mask: AttentionMask, cache: LayerCache): MxArray {
    const [B, L] = x.shape as [number, number, number];
    const { nHeads, nKvHeads, headDim, scale } = this.shape;
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
    q = p.rope.apply(q, cache.offset);
    k = p.rope.apply(k, cache.offset);
    const [keys, values] = cache.update(k, v);
    const out = sdpa(q, keys, values, { scale, mask });
    return p.o.forward(reshape(transpose(out, [0, 2, 1, 3]), [B, L, nHeads * headDim]));
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
