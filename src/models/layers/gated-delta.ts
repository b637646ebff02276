// Gated delta-net linear attention (Qwen3.5's and Qwen3-Next's linear_attn; mlx-lm qwen3_5.py GatedDeltaNet,
// gated_delta.py). A causal depthwise conv (kernel K, then silu) over the q/k/v projection, q/k L2-normalised, then
// per value head a recurrent (Dv, Dk) state that decays by g and is corrected by the delta rule at every token;
// the output is RMS-normed, gated by silu(z), and projected back. Two recurrent arrays per layer, kept in a
// StateCache: the conv window (B, K - 1, conv_dim) and the delta state (B, Hv, Dv, Dk), float32.
// The recurrence runs token by token as mlx-lm's CPU path does (gated_delta_ops: a compiled step per token).
import {
  concatenate, contiguous, conv1d, gatedDeltaDecay, gatedDeltaStep, log, multiply, negative, preciseSwiglu, repeat, reshape, rmsNorm,
  sigmoid, silu, slice, split, stack, transpose, zeros, type MxArray,
} from "../../ffi/index.ts";
import type { Weights } from "../weights.ts";
import type { LayerKV } from "./batch-cache.ts";
import { Linear } from "./linear.ts";
import { StateCache } from "./state-cache.ts";
import { disposeAll } from "../dispose.ts";

export interface GatedDeltaShape {
  numKHeads: number;
  numVHeads: number;
  headKDim: number;
  headVDim: number;
  /** RMSNormGated's eps */
  eps: number;
  /**
   * The value heads' order: grouped by key head (mlx-lm, Hugging Face: q/k heads repeated k0 k0 k1 k1), or tiled as
   * llama.cpp's converter stores them (k0v0, k1v0, k0v1, ...: q/k heads tiled k0 k1 k0 k1). The same model, its
   * value heads permuted.
   */
  vHeadsTiled?: boolean;
}

interface Parts {
  inQkv: Linear;
  inZ: Linear;
  inB: Linear;
  inA: Linear;
  /** (conv_dim, K, 1) */
  conv: MxArray;
  aLog: MxArray;
  dtBias: MxArray;
  normWeight: MxArray;
  outProj: Linear;
}

/** llama.cpp stores A = -exp(A_log): back to A_log (exp(log(x)) may differ from x in the last bit). */
function aLogOf(a: MxArray): MxArray {
  const aLog = log(negative(a));
  a.free();
  return aLog;
}

/** Row b's slot i, or zeros of `shape` before its first step; B rows concatenated. */
function gather(caches: readonly StateCache[] | null, i: number, shape: number[], dtype: MxArray["dtype"], B: number): MxArray {
  if (!caches) return zeros([B, ...shape], dtype);
  const parts = caches.map((c) => c.get(i) ?? zeros([1, ...shape], dtype));
  return parts.length === 1 ? parts[0]! : concatenate(parts, 0);
}

/** Gives row b of `a` (B, ...) to caches[b]'s slot i. */
function scatter(caches: readonly StateCache[], i: number, a: MxArray): void {
  const rows = caches.length === 1 ? [a] : split(a, caches.length, 0);
  caches.forEach((c, b) => c.set(i, contiguous(rows[b]!)));
}

export class GatedDeltaNet implements Disposable {
  private constructor(
    private readonly shape: GatedDeltaShape,
    private readonly p: Parts,
  ) {}

  static load(ws: Weights, path: string, shape: GatedDeltaShape): GatedDeltaNet {
    let conv = ws.take(`${path}.conv1d.weight`);
    // llama.cpp's (C, K) and Hugging Face's (C, 1, K) → MLX's (C, K, 1), as mlx-lm's sanitize moves it
    if (conv.ndim === 2) {
      const expanded = reshape(conv, [...conv.shape, 1]);
      conv.free();
      conv = expanded;
    } else if (conv.shape[2] !== 1) {
      const moved = contiguous(transpose(conv, [0, 2, 1]));
      conv.free();
      conv = moved;
    }
    return new GatedDeltaNet(shape, {
      inQkv: Linear.load(ws, `${path}.in_proj_qkv`),
      inZ: Linear.load(ws, `${path}.in_proj_z`),
      inB: Linear.load(ws, `${path}.in_proj_b`),
      inA: Linear.load(ws, `${path}.in_proj_a`),
      conv,
      aLog: ws.takeOptional(`${path}.A_log`) ?? aLogOf(ws.take(`${path}.A`)),
      dtBias: ws.take(`${path}.dt_bias`),
      normWeight: ws.take(`${path}.norm.weight`),
      outProj: Linear.load(ws, `${path}.out_proj`),
    });
  }

  /** Slot 0: the conv window; slot 1: the delta state. */
  static makeCache(): StateCache {
    return new StateCache(2);
  }

  forward(x: MxArray, kv: LayerKV): MxArray {
    const { numKHeads: Hk, numVHeads: Hv, headKDim: Dk, headVDim: Dv, eps } = this.shape;
    const p = this.p;
    const [B, S] = x.shape as [number, number, number];
    if ("batch" in kv) throw new Error("a gated delta-net layer has no batch KV cache: its rows keep their own state");
    const caches = "rows" in kv ? kv.rows.map(({ cache }) => {
      if (!(cache instanceof StateCache)) throw new Error("a gated delta-net layer needs a StateCache");
      return cache;
    }) : null;
    const qkv = p.inQkv.forward(x);
    const z = reshape(p.inZ.forward(x), [B, S, Hv, Dv]);
    const b = p.inB.forward(x);
    const a = p.inA.forward(x);

    const convDim = qkv.shape[2]!;
    const keep = p.conv.shape[1]! - 1;
    const window = concatenate([gather(caches, 0, [keep, convDim], x.dtype, B), qkv], 1);
    if (caches) scatter(caches, 0, slice(window, [0, S, 0], [B, S + keep, convDim]));
    const convOut = silu(conv1d(window, p.conv, { groups: convDim }));
    const keyDim = Hk * Dk;
    const [q0, k0, v] = split(convOut, [keyDim, 2 * keyDim], -1) as [MxArray, MxArray, MxArray];
    // normalize_qk: L2 norms as rms_norm (its eps scaled to the mean), the Dk^-0.5 readout folded into q
    const inv = Dk ** -0.5;
    const rmsEps = 1e-6 * inv ** 2;
    const q = multiply(rmsNorm(reshape(q0, [B, S, Hk, Dk]), null, rmsEps), inv ** 2);
    const k = multiply(rmsNorm(reshape(k0, [B, S, Hk, Dk]), null, rmsEps), inv);

    const [y, state] = this.recur(q, k, reshape(v, [B, S, Hv, Dv]), gatedDeltaDecay(p.aLog, a, p.dtBias), sigmoid(b), gather(caches, 1, [Hv, Dv, Dk], "float32", B));
    if (caches) {
      scatter(caches, 1, state);
      for (const c of caches) c.advance(S);
    }
    const out = preciseSwiglu(y, z, rmsNorm(y, p.normWeight, eps));
    return p.outProj.forward(reshape(out, [B, S, Hv * Dv]));
  }

  /** gated_delta_ops: q, k (B, S, Hk, Dk) repeated to Hv heads, one compiled step per token; → y (B, S, Hv, Dv), state. */
  private recur(q: MxArray, k: MxArray, v: MxArray, g: MxArray, beta: MxArray, state: MxArray): [MxArray, MxArray] {
    const { numKHeads: Hk, numVHeads: Hv } = this.shape;
    const rf = Hv / Hk;
    if (rf > 1) {
      const expand = (x: MxArray) => (this.shape.vHeadsTiled ? concatenate(new Array<MxArray>(rf).fill(x), -2) : repeat(x, rf, -2));
      q = expand(q);
      k = expand(k);
    }
    const S = q.shape[1]!;
    const at = (t: MxArray, i: number) => {
      const s = t.shape;
      const start = s.map((_, d) => (d === 1 ? i : 0));
      const stop = s.map((n, d) => (d === 1 ? i + 1 : n));
      return reshape(slice(t, start, stop), [s[0]!, ...s.slice(2)]);
    };
    const ys: MxArray[] = [];
    for (let t = 0; t < S; t++) {
      const [y, next] = gatedDeltaStep(at(q, t), at(k, t), at(v, t), at(g, t), at(beta, t), state);
      ys.push(y);
      state = next;
    }
    return [stack(ys, 1), state];
  }

  [Symbol.dispose](): void {
    const p = this.p;
    disposeAll(p.inQkv, p.inZ, p.inB, p.inA, p.outProj, p.conv, p.aLog, p.dtBias, p.normWeight);
  }
}
