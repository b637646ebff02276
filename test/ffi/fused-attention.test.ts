// The shim's CPU attention primitive (native/mlx_c_shim/attention.cpp) against mx::fast's sdpa on MLX's ops: the
// decode step, short causal blocks, GQA, strided views of a cache, a batch padded on the left; and its promise,
// that a row's result does not depend on the rows and padding around it.
import { afterAll, describe, expect, test } from "bun:test";

import * as mx from "../../src/ffi/index.ts";
import { randomF32, relErr } from "./reference.ts";

afterAll(() => mx.cpuKernels({ use: "best" }));

// The same float32 formulas as MLX's fallback (q times the scale, a float32 softmax, weights times values);
// sums in another order.
const F32 = 2e-6;

const operands = (B: number, Hq: number, Hkv: number, L: number, T: number, D: number, seed: number) => {
  const q = mx.array(randomF32(B * Hq * L * D, seed), [B, Hq, L, D]);
  const k = mx.array(randomF32(B * Hkv * T * D, seed + 1, 2), [B, Hkv, T, D]);
  const v = mx.array(randomF32(B * Hkv * T * D, seed + 2), [B, Hkv, T, D]);
  mx.eval(q, k, v);
  return { q, k, v, free: () => [q, k, v].forEach((a) => a.free()) };
};

/** sdpa under a choice of kernels, as float32, and the primitive that built it. */
function run(use: "best" | "mlx", f: () => mx.MxArray): { y: Float32Array; op: string } {
  mx.cpuKernels({ use });
  return mx.scope(() => {
    const y = f();
    return { op: y.primitive, y: y.toFloat32() };
  });
}

describe("against MLX's sdpa", () => {
  // SmolLM2 (9 query heads over 3), Gemma 3 (4 over 1, head 256), Llama-style (8 over 8).
  for (const [Hq, Hkv, D] of [[9, 3, 64], [4, 1, 256], [8, 8, 32]] as const) {
    for (const [L, T, mask] of [[1, 37, null], [1, 37, "causal"], [5, 5, "causal"], [6, 40, "causal"], [3, 20, null], [32, 300, "causal"], [200, 260, "causal"]] as const) {
      test(`${Hq}/${Hkv} heads of ${D}, ${L} queries over ${T} keys, mask ${mask}: one primitive, within ${F32}`, () => {
        const o = operands(2, Hq, Hkv, L, T, D, L * 31 + T);
        const f = () => mx.sdpa(o.q, o.k, o.v, { scale: 1 / Math.sqrt(D), mask });
        const ours = run("best", f);
        const ref = run("mlx", f);
        expect(ours.op).toBe("CpuAttention");
        expect(ref.op).not.toBe("CpuAttention");
        expect(relErr(ours.y, ref.y)).toBeLessThanOrEqual(F32);
        o.free();
      });
    }
  }

  test("a cache's slice and a transposed query are read in place", () => {
    const [B, H, T, D] = [2, 4, 50, 64];
    const o = operands(B, H, H, 1, 64, D, 7);
    const k = mx.slice(o.k, [0, 0, 0, 0], [B, H, T, D]);
    const v = mx.slice(o.v, [0, 0, 0, 0], [B, H, T, D]);
    const q = mx.transpose(mx.reshape(o.q, [B, 1, H, D]), [0, 2, 1, 3]);
    const f = () => mx.sdpa(q, k, v, { scale: 0.125, mask: null });
    expect(relErr(run("best", f).y, run("mlx", f).y)).toBeLessThanOrEqual(F32);
    for (const a of [k, v, q]) a.free();
    o.free();
  });

  test("a left-padded batch: each row sees its keys from its first on, as the boolean mask says", () => {
    const [B, H, T, D] = [3, 6, 45, 64];
    const o = operands(B, H, 2, 1, T, D, 11);
    const pads = [0, 17, 44];
    const starts = mx.array(pads, [B], "int32");
    const cols = mx.reshape(mx.arange(0, T), [1, 1, 1, T]);
    const boolMask = mx.greaterEqual(cols, mx.array(pads, [B, 1, 1, 1], "int32"));
    mx.eval(starts, boolMask);
    const ours = run("best", () => mx.sdpa(o.q, o.k, o.v, { scale: 0.125, mask: { starts } }));
    expect(ours.op).toBe("CpuAttention");
    const ref = run("mlx", () => mx.sdpa(o.q, o.k, o.v, { scale: 0.125, mask: boolMask }));
    expect(relErr(ours.y, ref.y)).toBeLessThanOrEqual(F32);
    // MLX's ops get the padded form too (the path of GPU streams): the same mask, built in the shim
    expect(relErr(run("mlx", () => mx.sdpa(o.q, o.k, o.v, { scale: 0.125, mask: { starts } })).y, ref.y)).toBeLessThanOrEqual(F32);
    for (const a of [starts, cols, boolMask]) a.free();
    o.free();
  });

  test("bfloat16, long query blocks and sinks keep MLX's op", () => {
    const o = operands(1, 4, 2, 40, 40, 64, 3);
    const long = operands(1, 1, 1, 2049, 2049, 8, 4);
    mx.cpuKernels({ use: "best" });
    const ops = mx.scope(() => [
      mx.sdpa(mx.astype(o.q, "bfloat16"), mx.astype(o.k, "bfloat16"), mx.astype(o.v, "bfloat16"), { scale: 0.125, mask: null }).primitive,
      mx.sdpa(long.q, long.k, long.v, { scale: 0.125, mask: "causal" }).primitive,
      mx.sdpa(mx.slice(o.q, [0, 0, 0, 0], [1, 4, 1, 64]), o.k, o.v, { scale: 0.125, mask: null, sinks: mx.zeros([4], "float32") }).primitive,
    ]);
    expect(ops).not.toContain("CpuAttention");
    o.free();
    long.free();
  });
});

test("a row's result is the same bits alone as in a batch padded around it (the primitive's promise)", () => {
  const [H, Hkv, D] = [9, 3, 64];
  const lengths = [13, 40, 1, 27];
  const T = Math.max(...lengths);
  mx.cpuKernels({ use: "best" });
  const rows = lengths.map((n, b) => operands(1, H, Hkv, 1, n, D, 100 + b));
  const alone = rows.map((r) => mx.scope(() => mx.sdpa(r.q, r.k, r.v, { scale: 0.125, mask: null }).toFloat32()));
  const batched = mx.scope(() => {
    const pad = (a: mx.MxArray, n: number) => (n === T ? a : mx.concatenate([mx.zeros([1, Hkv, T - n, D], "float32"), a], 2));
    const q = mx.concatenate(rows.map((r) => r.q), 0);
    const k = mx.concatenate(rows.map((r, b) => pad(r.k, lengths[b]!)), 0);
    const v = mx.concatenate(rows.map((r, b) => pad(r.v, lengths[b]!)), 0);
    const starts = mx.array(lengths.map((n) => T - n), [lengths.length], "int32");
    return mx.sdpa(q, k, v, { scale: 0.125, mask: { starts } }).toFloat32();
  });
  const per = H * D;
  lengths.forEach((_, b) => expect(batched.subarray(b * per, (b + 1) * per)).toEqual(alone[b]!));
  for (const r of rows) r.free();
});
