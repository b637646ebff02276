// Multi-head latent attention (DeepSeek-V2/V3, mlx-lm's deepseek_v2.py / deepseek_v3.py). Queries come from x
// directly (q_proj) or through a low-rank bottleneck (q_a_proj → RMSNorm → q_b_proj); keys and values from one
// compressed latent (kv_a_proj_with_mqa → RMSNorm) plus a single rotary key part shared by every head. Each head's
// query and key are [nope | rope] (traditional RoPE on the rope part only).
//
// Two forms, as mlx-lm has them:
// - expanded (V2): kv_b_proj expands the latent into per-head keys and values; the cache holds those.
// - absorbed (V3): kv_b_proj is split into embed_q / unembed_out (MultiLinear); the cache holds the latent and the
//   rotary key only; the rotary scores enter sdpa as an additive mask. A decode step attends in latent space
//   (queries embedded, output unembedded), a prefill expands the latent into keys and values.
import { concatenate, expandDims, matmul, multiply, repeat, reshape, sdpa, split, swapaxes, transpose, where, type MxArray } from "../../ffi/index.ts";
import type { LayerKV } from "./batch-cache.ts";
import type { AttentionMask } from "./kv-cache.ts";
import type { Linear } from "./linear.ts";
import type { MultiLinear } from "./multi-linear.ts";
import type { RMSNorm } from "./norm.ts";
import type { Rope } from "./rope.ts";
import { booleanMask, LOWEST } from "./softcap.ts";
import { disposeAll } from "../dispose.ts";

export interface MlaShape {
  nHeads: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
  kvLoraRank: number;
  /** 1/sqrt(q head dim), times yarn's mscale(factor, mscale_all_dim)² when the config has one */
  scale: number;
}

export interface MlaParts {
  /** q_proj, or q_a_proj → q_a_layernorm → q_b_proj */
  q: { proj: Linear } | { a: Linear; norm: RMSNorm; b: Linear };
  kvA: Linear;
  kvANorm: RMSNorm;
  /** expanded: kv_b_proj; absorbed: embed_q and unembed_out */
  kv: { kvB: Linear } | { embedQ: MultiLinear; unembedOut: MultiLinear };
  o: Linear;
  rope: Rope;
}

/** One pass over some rows: their positions, how their cache takes the new keys/values, and their mask. */
interface RowsStep {
  offset: number | MxArray;
  update: (k: MxArray, v: MxArray) => [MxArray, MxArray];
  mask: AttentionMask;
}

export class MlaAttention implements Disposable {
  constructor(
    readonly shape: MlaShape,
    private readonly parts: MlaParts,
  ) {}

  /** x (B, L, hidden): a batch cache and the no-cache pass take every row at once, rows with their own caches one by one. */
  forward(x: MxArray, kv: LayerKV): MxArray {
    if ("encode" in kv) return this.step(x, { offset: 0, update: (k, v) => [k, v], mask: kv.encode });
    if ("batch" in kv) {
      const batch = kv.batch;
      return this.step(x, { offset: batch.positions(), update: (k, v) => batch.update(k, v), mask: kv.mask });
    }
    const rows = kv.rows;
    const xs = rows.length === 1 ? [x] : split(x, rows.length, 0);
    const out = rows.map(({ cache, mask }, b) => this.step(xs[b]!, { offset: cache.offset, update: (k, v) => cache.update(k, v), mask }));
    return out.length === 1 ? out[0]! : concatenate(out, 0);
  }

  private step(x: MxArray, s: RowsStep): MxArray {
    const [B, L] = x.shape as [number, number, number];
    const { nHeads: H, qkNopeHeadDim: nope, qkRopeHeadDim: ropeDim, kvLoraRank: rank } = this.shape;
    const p = this.parts;
    const qFlat = "proj" in p.q ? p.q.proj.forward(x) : p.q.b.forward(p.q.norm.forward(p.q.a.forward(x)));
    const q = transpose(reshape(qFlat, [B, L, H, nope + ropeDim]), [0, 2, 1, 3]);
    const [qNope, qPe] = split(q, [nope], -1) as [MxArray, MxArray];
    const [compressed, kPeFlat] = split(p.kvA.forward(x), [rank], -1) as [MxArray, MxArray];
    const kPe = transpose(reshape(kPeFlat, [B, L, 1, ropeDim]), [0, 2, 1, 3]);
    const latent = p.kvANorm.forward(compressed);
    const out = "kvB" in p.kv
      ? this.expanded(p.kv.kvB, qNope, qPe, kPe, latent, s)
      : this.absorbed(p.kv.embedQ, p.kv.unembedOut, qNope, qPe, kPe, latent, s);
    return p.o.forward(reshape(transpose(out, [0, 2, 1, 3]), [B, L, out.shape[1]! * out.shape[3]!]));
  }

  /** V2: per-head keys [k_nope | k_pe repeated] and values from kv_b_proj, cached as they are. */
  private expanded(kvB: Linear, qNope: MxArray, qPe: MxArray, kPe: MxArray, latent: MxArray, s: RowsStep): MxArray {
    const { nHeads: H, qkNopeHeadDim: nope, vHeadDim, scale } = this.shape;
    const [B, L] = latent.shape as [number, number, number];
    const kv = transpose(reshape(kvB.forward(latent), [B, L, H, nope + vHeadDim]), [0, 2, 1, 3]);
    const [kNope, v] = split(kv, [nope], -1) as [MxArray, MxArray];
    const rope = this.parts.rope;
    const qRot = rope.apply(qPe, s.offset);
    const kRot = repeat(rope.apply(kPe, s.offset), H, 1);
    const [keys, values] = s.update(concatenate([kNope, kRot], -1), v);
    return sdpa(concatenate([qNope, qRot], -1), keys, values, { scale, mask: s.mask });
  }

  /** V3: the latent and the rotary key cached; rotary scores as sdpa's additive mask. */
  private absorbed(embedQ: MultiLinear, unembedOut: MultiLinear, qNope: MxArray, qPe: MxArray, kPe: MxArray, latent: MxArray, s: RowsStep): MxArray {
    const { scale } = this.shape;
    const [B, L] = latent.shape as [number, number, number];
    const rope = this.parts.rope;
    const qRot = rope.apply(qPe, s.offset);
    const kRot = rope.apply(kPe, s.offset);
    const [cached, kPeAll] = s.update(expandDims(latent, [1]), kRot);
    let peScores = matmul(multiply(qRot, scale), swapaxes(kPeAll, -1, -2));
    const T = kPeAll.shape[2]!;
    // mlx-lm asks for an array mask here (return_array=True): none for a single query, else the causal one
    const mask = booleanMask(s.mask, B, L, T, false);
    if (mask) peScores = where(mask, peScores, LOWEST[peScores.dtype] ?? -Infinity);
    if (L === 1) {
      const out = sdpa(embedQ.forward(qNope), cached, cached, { scale, mask: peScores });
      return unembedOut.forward(out);
    }
    return sdpa(qNope, embedQ.forward(cached, false), unembedOut.forward(cached), { scale, mask: peScores });
  }

  [Symbol.dispose](): void {
    const p = this.parts;
    disposeAll(Object.values(p.q), p.kvA, p.kvANorm, Object.values(p.kv), p.o, p.rope);
  }
}
