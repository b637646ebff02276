// LFM2's gated short convolution (mlx-lm lfm2.py ShortConv): B, C, x = split(in_proj(h)); the product B·x goes
// through a causal depthwise conv of kernel K, gated by C, then out_proj. The conv window is the layer's recurrent
// state: the last K - 1 products, kept in a StateCache between steps and prefill chunks (zeros before the first).
import { add, concatenate, contiguous, conv1d, multiply, pad, reshape, slice, split, transpose, zeros, type MxArray } from "../../ffi/index.ts";
import type { Weights } from "../weights.ts";
import type { LayerKV } from "./batch-cache.ts";
import { Linear } from "./linear.ts";
import { StateCache } from "./state-cache.ts";
import { disposeAll } from "../dispose.ts";

export class ShortConv implements Disposable {
  private constructor(
    /** (hidden, K, 1): one K-tap filter per channel */
    private readonly weight: MxArray,
    private readonly bias: MxArray | null,
    private readonly inProj: Linear,
    private readonly outProj: Linear,
  ) {}

  /** conv.weight, conv.bias (with conv_bias), in_proj, out_proj under `path`. */
  static load(ws: Weights, path: string): ShortConv {
    let weight = ws.take(`${path}.conv.weight`);
    // llama.cpp's converter squeezes it to (hidden, K); Hugging Face stores PyTorch's (out, in/groups, K), which
    // mlx-lm's sanitize turns into MLX's (out, K, in/groups).
    if (weight.ndim === 2) {
      const expanded = reshape(weight, [...weight.shape, 1]);
      weight.free();
      weight = expanded;
    } else if (weight.shape[2]! > weight.shape[1]!) {
      const moved = contiguous(transpose(weight, [0, 2, 1]));
      weight.free();
      weight = moved;
    }
    return new ShortConv(weight, ws.takeOptional(`${path}.conv.bias`), Linear.load(ws, `${path}.in_proj`), Linear.load(ws, `${path}.out_proj`));
  }

  get kernel(): number {
    return this.weight.shape[1]!;
  }

  /** One StateCache slot per layer: the conv window. */
  static makeCache(): StateCache {
    return new StateCache(1);
  }

  /** x (B, L, hidden) → (B, L, hidden); each row's window comes from and goes back to its own StateCache. */
  forward(x: MxArray, kv: LayerKV): MxArray {
    const [b, c, h] = split(this.inProj.forward(x), 3, -1) as [MxArray, MxArray, MxArray];
    const bx = multiply(b, h);
    const window = this.withWindow(bx, kv);
    let y = conv1d(window, this.weight, { groups: bx.shape[2]! });
    if (this.bias) y = add(y, this.bias);
    return this.outProj.forward(multiply(c, y));
  }

  /** bx (B, L, D) after the K - 1 products before it: each row's state, or zeros (`encode`: from position 0). */
  private withWindow(bx: MxArray, kv: LayerKV): MxArray {
    const [B, L, D] = bx.shape as [number, number, number];
    const keep = this.kernel - 1;
    if ("encode" in kv) return pad(bx, [[0, 0], [keep, 0], [0, 0]]);
    if ("batch" in kv) throw new Error("a short-conv layer has no batch KV cache: its rows keep their own state");
    const caches = kv.rows.map(({ cache }) => {
      if (!(cache instanceof StateCache)) throw new Error("a short-conv layer needs a StateCache");
      return cache;
    });
    const before = caches.map((s) => s.get(0) ?? zeros([1, keep, D], bx.dtype));
    const window = concatenate([B === 1 ? before[0]! : concatenate(before, 0), bx], 1);
    const T = keep + L;
    const tail = slice(window, [0, T - keep, 0], [B, T, D]);
    const rows = B === 1 ? [tail] : split(tail, B, 0);
    caches.forEach((s, i) => {
      s.set(0, contiguous(rows[i]!));
      s.advance(L);
    });
    return window;
  }

  [Symbol.dispose](): void {
    disposeAll(this.weight, this.bias, this.inProj, this.outProj);
  }
}
