import { describe, expect, test } from "bun:test";

import * as mx from "../../src/ffi/index.ts";
import { expectClose, matmulJs, randomF32, softmaxJs } from "./reference.ts";

describe("matmul and linear", () => {
  test("matmul of (5,7) by (7,3) matches a JS triple loop", () => {
    const a = randomF32(35, 1);
    const b = randomF32(21, 2);
    const y = mx.scope(() => mx.matmul(mx.array(a, [5, 7]), mx.array(b, [7, 3])));
    expect(y.shape).toEqual([5, 3]);
    expectClose(y.toFloat32(), matmulJs(a, b, 5, 7, 3), 1e-5);
    y.free();
  });

  test("linear with a bias is x @ w.T + bias, and addmm scales both terms", () => {
    const x = randomF32(8, 3);
    const w = randomF32(12, 4);
    const bias = randomF32(3, 5);
    const wT = new Float32Array(12);
    for (let o = 0; o < 3; o++) for (let i = 0; i < 4; i++) wT[i * 3 + o] = w[o * 4 + i]!;
    const ref = matmulJs(x, wT, 2, 4, 3).map((v, idx) => v + bias[idx % 3]!);
    const [y, z] = mx.scope(() => {
      const xa = mx.array(x, [2, 4]);
      const wa = mx.array(w, [3, 4]);
      const ba = mx.array(bias, [3]);
      return [mx.linear(xa, wa, { bias: ba }), mx.addmm(ba, xa, mx.transpose(wa), 2, 0.5)];
    });
    expectClose(y!.toFloat32(), ref, 1e-5);
    expectClose(z!.toFloat32(), matmulJs(x, wT, 2, 4, 3).map((v, idx) => 2 * v + 0.5 * bias[idx % 3]!), 1e-5);
  });
});

describe("reductions and sorting", () => {
  const data = randomF32(24, 7, 3);
  const rows = (n: number, w: number) => Array.from({ length: n }, (_, r) => Array.from(data.subarray(r * w, r * w + w)));

  test("softmax over the last axis matches exp/sum per row", () => {
    const y = mx.scope(() => mx.softmax(mx.array(data, [4, 6])));
    expectClose(y.toFloat32(), rows(4, 6).flatMap(softmaxJs), 1e-6);
  });

  test("logsumexp, sum, mean, max and var along axis 1 match JS", () => {
    const out = mx.scope(() => {
      const a = mx.array(data, [4, 6]);
      return { lse: mx.logsumexp(a, 1), sum: mx.sum(a, 1), mean: mx.mean(a, 1), max: mx.max(a, 1), var: mx.var(a, 1, true) };
    });
    const r = rows(4, 6);
    const mean = r.map((xs) => xs.reduce((a, b) => a + b, 0) / 6);
    expectClose(out.lse.toFloat32(), r.map((xs) => { const m = Math.max(...xs); return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0)); }), 1e-5);
    expectClose(out.sum.toFloat32(), r.map((xs) => xs.reduce((a, b) => a + b, 0)), 1e-5);
    expectClose(out.mean.toFloat32(), mean, 1e-5);
    expectClose(out.max.toFloat32(), r.map((xs) => Math.max(...xs)), 0);
    expect(out.var.shape).toEqual([4, 1]);
    expectClose(out.var.toFloat32(), r.map((xs, i) => xs.reduce((s, x) => s + (x - mean[i]!) ** 2, 0) / 6), 1e-5);
  });

  test("argmax per row and over the flattened array match JS", () => {
    const [perRow, flat] = mx.scope(() => { const a = mx.array(data, [4, 6]); return [mx.argmax(a, 1), mx.argmax(a)]; });
    expect(Array.from(perRow!.toInt32())).toEqual(rows(4, 6).map((xs) => xs.indexOf(Math.max(...xs))));
    expect(flat!.item()).toBe(Array.from(data).indexOf(Math.max(...data)));
  });

  test("cumsum inclusive, exclusive and reversed match running sums", () => {
    const xs = [1, 2, 3, 4, 5];
    const out = mx.scope(() => {
      const a = mx.array(xs);
      return [mx.cumsum(a, 0), mx.cumsum(a, 0, { inclusive: false }), mx.cumsum(a, 0, { reverse: true })];
    });
    expect(Array.from(out[0]!.toFloat32())).toEqual([1, 3, 6, 10, 15]);
    expect(Array.from(out[1]!.toFloat32())).toEqual([0, 1, 3, 6, 10]);
    expect(Array.from(out[2]!.toFloat32())).toEqual([15, 14, 12, 9, 5]);
  });

  test("sort and argsort order each row ascending", () => {
    const [s, i] = mx.scope(() => { const a = mx.array(data, [4, 6]); return [mx.sort(a), mx.argsort(a)]; });
    const sorted = rows(4, 6).map((xs) => [...xs].sort((p, q) => p - q));
    expect(Array.from(s!.toFloat32())).toEqual(sorted.flat());
    const idx = i!.toInt32();
    rows(4, 6).forEach((xs, r) => expect(Array.from(idx.subarray(r * 6, r * 6 + 6), (j) => xs[j])).toEqual(sorted[r]!));
  });

  test("argpartition puts the kth smallest at kth with smaller ones before it", () => {
    const xs = Array.from(randomF32(17, 11));
    const idx = Array.from(mx.scope(() => mx.argpartition(mx.array(xs), 5)).toInt32());
    const sorted = [...xs].sort((a, b) => a - b);
    expect(new Set(idx).size).toBe(17);
    expect(xs[idx[5]!]).toBe(sorted[5]!);
    for (let j = 0; j < 5; j++) expect(xs[idx[j]!]!).toBeLessThanOrEqual(sorted[5]!);
    for (let j = 6; j < 17; j++) expect(xs[idx[j]!]!).toBeGreaterThanOrEqual(sorted[5]!);
  });

  test("topk returns the k largest values", () => {
    const xs = Array.from(randomF32(10, 12));
    const top = Array.from(mx.scope(() => mx.topk(mx.array(xs), 3)).toFloat32()).sort((a, b) => b - a);
    expect(top).toEqual([...xs].sort((a, b) => b - a).slice(0, 3));
  });
});

describe("normalization", () => {
  const x = randomF32(3 * 8, 21, 2);
  const w = randomF32(8, 22);
  const b = randomF32(8, 23);
  const rowsOf = () => Array.from({ length: 3 }, (_, r) => Array.from(x.subarray(r * 8, r * 8 + 8)));

  test("rms_norm is x / sqrt(mean(x^2) + eps) * weight", () => {
    const y = mx.scope(() => mx.rmsNorm(mx.array(x, [3, 8]), mx.array(w), 1e-5));
    const ref = rowsOf().flatMap((xs) => { const r = Math.sqrt(xs.reduce((s, v) => s + v * v, 0) / 8 + 1e-5); return xs.map((v, i) => (v / r) * w[i]!); });
    expectClose(y.toFloat32(), ref, 1e-5, 1e-5);
  });

  test("layer_norm is (x - mean) / sqrt(var + eps) * weight + bias, and works without weight and bias", () => {
    const [y, plain] = mx.scope(() => { const a = mx.array(x, [3, 8]); return [mx.layerNorm(a, mx.array(w), mx.array(b), 1e-5), mx.layerNorm(a, undefined, undefined, 1e-5)]; });
    const norm = rowsOf().map((xs) => {
      const m = xs.reduce((s, v) => s + v, 0) / 8;
      const v = xs.reduce((s, t) => s + (t - m) ** 2, 0) / 8;
      return xs.map((t) => (t - m) / Math.sqrt(v + 1e-5));
    });
    expectClose(y!.toFloat32(), norm.flatMap((r) => r.map((t, i) => t * w[i]! + b[i]!)), 1e-5, 1e-5);
    expectClose(plain!.toFloat32(), norm.flat(), 1e-5, 1e-5);
  });
});

describe("elementwise", () => {
  test("a JS number takes a bfloat16 array's dtype, and integral numbers keep int32", () => {
    const [bf, i32, f] = mx.scope(() => [mx.add(mx.zeros([2], "bfloat16"), 1.5), mx.multiply(mx.arange(3), 2), mx.add(mx.arange(3), 0.5)]);
    expect(bf!.dtype).toBe("bfloat16");
    expect(i32!.dtype).toBe("int32");
    expect(Array.from(i32!.toInt32())).toEqual([0, 2, 4]);
    expect(f!.dtype).toBe("float32");
  });

  test("silu, gelu and gelu_approx match their formulas", () => {
    const xs = Array.from(randomF32(16, 31, 4));
    const out = mx.scope(() => { const a = mx.array(xs); return [mx.silu(a), mx.gelu(a), mx.geluApprox(a), mx.swiglu(a, a), mx.gegluApprox(a, a)]; });
    const erf = (z: number) => { // Abramowitz-Stegun 7.1.26 is too coarse; integrate instead.
      let s = 0; const n = 2000; for (let i = 0; i < n; i++) { const t = ((i + 0.5) / n) * z; s += Math.exp(-t * t); }
      return (2 / Math.sqrt(Math.PI)) * s * (z / n);
    };
    const silu = xs.map((x) => x / (1 + Math.exp(-x)));
    const approx = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
    expectClose(out[0]!.toFloat32(), silu, 1e-5, 1e-5);
    expectClose(out[1]!.toFloat32(), xs.map((x) => (x * (1 + erf(x / Math.SQRT2))) / 2), 1e-5, 1e-5);
    expectClose(out[2]!.toFloat32(), approx, 1e-5, 1e-5);
    expectClose(out[3]!.toFloat32(), silu.map((s, i) => s * xs[i]!), 1e-5, 1e-5);
    expectClose(out[4]!.toFloat32(), approx.map((s, i) => s * xs[i]!), 1e-5, 1e-5);
  });

  test("where, clip and comparisons with numbers", () => {
    const [w, c] = mx.scope(() => {
      const a = mx.array([-2, -1, 0, 1, 2]);
      return [mx.where(mx.greater(a, 0), a, 0), mx.clip(a, -1, 1)];
    });
    expect(Array.from(w!.toFloat32())).toEqual([0, 0, 0, 1, 2]);
    expect(Array.from(c!.toFloat32())).toEqual([-1, -1, 0, 1, 1]);
  });
});

describe("shapes and indexing", () => {
  test("slice, sliceUpdate, concatenate, split and take agree with JS indexing", () => {
    const out = mx.scope(() => {
      const a = mx.arange(12);
      const m = mx.reshape(a, [3, 4]);
      const s = mx.slice(m, [1, 0], [3, 4], [1, 2]);
      const u = mx.sliceUpdate(m, mx.zeros([1, 2], "int32"), [0, 1], [1, 3]);
      const d = mx.sliceDynamic(m, mx.array([2], [1], "int32"), [0], [1, 4]);
      const parts = mx.split(a, [5, 9]);
      const t = mx.take(m, mx.array([2, 0], [2], "int32"), 0);
      const cat = mx.concatenate([t, t], 1);
      return { s, u, d, parts, t, cat };
    });
    expect(Array.from(out.s.toInt32())).toEqual([4, 6, 8, 10]);
    expect(Array.from(out.u.toInt32())).toEqual([0, 0, 0, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(Array.from(out.d.toInt32())).toEqual([8, 9, 10, 11]);
    expect(out.parts.map((p) => Array.from(p.toInt32()))).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11]]);
    expect(Array.from(out.t.toInt32())).toEqual([8, 9, 10, 11, 0, 1, 2, 3]);
    expect(out.cat.shape).toEqual([2, 8]);
  });

  test("toList nests by shape", () => {
    using a = mx.array([1, 2, 3, 4, 5, 6], [2, 3], "int32");
    expect(a.toList()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });
});

describe("random", () => {
  test("the same key gives the same draws, split keys differ, and ranges hold", () => {
    const out = mx.scope(() => {
      const k = mx.random.key(7);
      const keys = mx.random.split(k, 2);
      const k1 = mx.slice(keys, [0, 0], [1, 2]);
      return {
        a: mx.random.uniform([64], { key: k }), b: mx.random.uniform([64], { key: k }),
        c: mx.random.uniform([64], { key: mx.reshape(k1, [2]) }),
        ints: mx.random.randint(3, 6, [200], { key: k }),
        n: mx.random.normal([4000], { key: k, loc: 2, scale: 0.5 }),
        pick: mx.random.categorical(mx.array([-Infinity, 0, -Infinity], [1, 3]), { key: k }),
      };
    });
    const a = out.a.toFloat32();
    expect(Array.from(out.b.toFloat32())).toEqual(Array.from(a));
    expect(Array.from(out.c.toFloat32())).not.toEqual(Array.from(a));
    expect(a.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(out.ints.toInt32().every((v) => v >= 3 && v < 6)).toBe(true);
    const n = out.n.toFloat32();
    expect(Math.abs(n.reduce((s, v) => s + v, 0) / n.length - 2)).toBeLessThan(0.05);
    expect(out.pick.item()).toBe(1);
  });

  test("splitKeys gives the two rows of split(key, 2) as keys of shape [2]", () => {
    const [a, b, both] = mx.scope(() => { const k = mx.random.key(3); return [...mx.random.splitKeys(k), mx.random.split(k, 2)]; });
    expect(a!.shape).toEqual([2]);
    expect([...a!.toBytes(), ...b!.toBytes()]).toEqual([...both!.toBytes()]);
  });
});
