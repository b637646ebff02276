// The shim's single-node CPU primitives for RMSNorm and RoPE (native/mlx_c_shim/fused.cpp) against mx::fast's
// composed CPU fallbacks (MLX's own ops), on random inputs of the models' shapes and every variant they use.
import { afterAll, describe, expect, test } from "bun:test";

import * as mx from "../../src/ffi/index.ts";
import { randomF32 } from "./reference.ts";

afterAll(() => mx.cpuKernels({ use: "best" }));

function both(f: () => mx.MxArray): { ours: Float32Array; mlx: Float32Array } {
  const run = (use: "best" | "mlx") => {
    mx.cpuKernels({ use });
    return mx.scope(() => mx.astype(f(), "float32").toFloat32());
  };
  return { mlx: run("mlx"), ours: run("best") };
}

function maxDiff(a: Float32Array, b: Float32Array): { abs: number; scale: number } {
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    abs = Math.max(abs, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { abs, scale };
}

// float32: the same formulas in the same precision, with MLX's own exp, cos and sin; sums may differ in the last bit.
const F32 = 1e-5;
// bfloat16/float16: the same roundings as the fallback; a last-bit difference before a rounding can move the
// result by one ulp of the dtype (bf16: 2^-7 relative, f16: 2^-10).
const HALF: Record<string, number> = { bfloat16: 2 ** -7, float16: 2 ** -10 };


test("with the shim's kernels each is one primitive of ours; with MLX's ops, MLX's composed fallback", () => {
  const x = mx.array(randomF32(2 * 3 * 64, 5), [2, 3, 64]);
  const w = mx.array(randomF32(64, 6), [64]);
  const names = (use: "best" | "mlx") => {
    mx.cpuKernels({ use });
    return mx.scope(() => [mx.rmsNorm(x, w, 1e-5).primitive, mx.rope(mx.reshape(x, [2, 1, 3, 64]), { dims: 64, traditional: false, base: 10000, offset: 2 }).primitive]);
  };
  expect(names("best")).toEqual(["CpuRMSNorm", "CpuRoPE"]);
  expect(names("mlx")).not.toContain("CpuRMSNorm");
  expect(names("mlx")).not.toContain("CpuRoPE");
});

describe("RMSNorm", () => {
  for (const dtype of ["float32", "bfloat16", "float16"] as const) {
    test(`${dtype}: (2, 7, 576) with and without a weight, and a strided view`, () => {
      const x = mx.astype(mx.array(randomF32(2 * 7 * 576, 1, 3), [2, 7, 576]), dtype);
      const w = mx.astype(mx.array(randomF32(576, 2), [576]), dtype);
      mx.eval(x, w);
      const bound = dtype === "float32" ? F32 : HALF[dtype]!;
      for (const f of [() => mx.rmsNorm(x, w, 1e-5), () => mx.rmsNorm(x, null, 1e-6), () => mx.rmsNorm(mx.transpose(x, [1, 0, 2]), w, 1e-5)]) {
        const { ours, mlx } = both(f);
        const d = maxDiff(ours, mlx);
        expect(d.abs / d.scale).toBeLessThanOrEqual(bound);
      }
    });
  }
});

describe("RoPE", () => {
  // x as attention hands it over: (B, H, L, D) transposed from (B, L, H, D).
  function heads(B: number, L: number, H: number, D: number, dtype: mx.Dtype, seed: number): mx.MxArray {
    const x = mx.transpose(mx.astype(mx.array(randomF32(B * L * H * D, seed), [B, L, H, D]), dtype), [0, 2, 1, 3]);
    mx.eval(x);
    return x;
  }
  const variants: { name: string; opts: (B: number) => mx.RopeOptions }[] = [
    { name: "default, offset 37", opts: () => ({ dims: 64, traditional: false, base: 10000, offset: 37 }) },
    { name: "traditional (interleaved pairs)", opts: () => ({ dims: 64, traditional: true, base: 500000, offset: 5 }) },
    { name: "partial rotary (dims 32 of 64)", opts: () => ({ dims: 32, traditional: false, base: 10000, offset: 3 }) },
    { name: "linear scaling", opts: () => ({ dims: 64, traditional: false, base: 10000, scale: 0.25, offset: 100 }) },
    {
      name: "freqs (llama3 / yarn periods)",
      opts: () => ({ dims: 64, traditional: false, base: null, offset: 11, freqs: mx.array(Float32Array.from({ length: 32 }, (_, i) => 10000 ** ((2 * i) / 64) * (i > 20 ? 8 : 1)), [32]) }),
    },
    { name: "one offset per batch row", opts: (B) => ({ dims: 64, traditional: false, base: 10000, offset: mx.array(Int32Array.from({ length: B }, (_, b) => 7 * b + 1), [B], "int32") }) },
    { name: "a one-element offset array", opts: () => ({ dims: 64, traditional: false, base: 10000, offset: mx.array(new Int32Array([1234]), [1], "int32") }) },
  ];
  for (const dtype of ["float32", "bfloat16"] as const) {
    for (const v of variants) {
      test(`${dtype}: ${v.name}`, () => {
        for (const [B, L] of [[1, 1], [3, 1], [2, 9]] as const) {
          const x = heads(B, L, 9, 64, dtype, B * 10 + L);
          const opts = v.opts(B);
          const { ours, mlx } = both(() => mx.rope(x, opts));
          const d = maxDiff(ours, mlx);
          expect(d.abs / d.scale).toBeLessThanOrEqual(dtype === "float32" ? F32 : HALF[dtype]!);
        }
      });
    }
  }
});

describe("GELU (erf form)", () => {
  test("float32: one primitive, within 1e-6 of the largest output of MLX's op, on decode and prompt shapes", () => {
    for (const shape of [[1, 1, 1536], [3, 70, 1536], [5, 17]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      // a wide range, ±8, with the near-zero values where erf's own series matters
      const x = mx.array(randomF32(n, n, 8).map((v, i) => (i % 7 === 0 ? v * 1e-4 : v)), shape);
      mx.eval(x);
      const { ours, mlx } = both(() => mx.gelu(x));
      const d = maxDiff(ours, mlx);
      expect(d.abs / d.scale).toBeLessThanOrEqual(1e-6);
      x.free();
    }
    const names = (use: "best" | "mlx") => {
      mx.cpuKernels({ use });
      return mx.scope(() => [mx.gelu(mx.zeros([2, 8], "float32")).primitive, mx.gelu(mx.zeros([2, 8], "bfloat16")).primitive]);
    };
    expect(names("best")[0]).toBe("CpuGelu");
    expect(names("best")[1]).not.toBe("CpuGelu"); // other dtypes keep MLX's compiled op
    expect(names("mlx")[0]).not.toBe("CpuGelu");
  });

  test("a strided view is read as its values", () => {
    const x = mx.array(randomF32(64 * 48, 3, 4), [64, 48]);
    const t = mx.transpose(x);
    const { ours, mlx } = both(() => mx.gelu(t));
    const d = maxDiff(ours, mlx);
    expect(d.abs / d.scale).toBeLessThanOrEqual(1e-6);
    x.free();
    t.free();
  });
});

/** The primitives a gated activation builds under a choice of kernels, for float32 and bfloat16 operands. */
function gatedPrimitives(use: "best" | "mlx", act: (g: mx.MxArray, u: mx.MxArray) => mx.MxArray): string[] {
  mx.cpuKernels({ use });
  return mx.scope(() => {
    const z = mx.zeros([2, 8], "float32");
    return [act(z, z).primitive, act(mx.astype(z, "bfloat16"), mx.astype(z, "bfloat16")).primitive];
  });
}

describe("SwiGLU (silu(gate) · up)", () => {
  test("float32: one primitive, MLX's compiled op bit for bit (its exp, its roundings), ±96 included", () => {
    for (const shape of [[1, 1, 1536], [8, 1, 1536], [3, 70, 1536], [5, 17]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      // past ±88 MLX's exp saturates; near zero the sigmoid is ½
      const g = mx.array(randomF32(n, n + 1, 12).map((v, i) => (i % 11 === 0 ? v * 8 : i % 7 === 0 ? v * 1e-4 : v)), shape);
      const u = mx.array(randomF32(n, n + 2, 3), shape);
      mx.eval(g, u);
      const { ours, mlx } = both(() => mx.swiglu(g, u));
      expect(ours).toEqual(mlx);
      g.free();
      u.free();
    }
    const names = (use: "best" | "mlx") => gatedPrimitives(use, mx.swiglu);
    expect(names("best")[0]).toBe("CpuSwiglu");
    expect(names("best")[1]).not.toBe("CpuSwiglu"); // other dtypes keep MLX's compiled op
    expect(names("mlx")[0]).not.toBe("CpuSwiglu");
  });

  test("the halves of a fused gate_up projection (strided views) are read as their values", () => {
    const gu = mx.array(randomF32(4 * 2 * 96, 9, 4), [4, 2 * 96]);
    const [g, u] = [mx.slice(gu, [0, 0], [4, 96]), mx.slice(gu, [0, 96], [4, 192])];
    const { ours, mlx } = both(() => mx.swiglu(g!, u!));
    expect(ours).toEqual(mlx);
    for (const a of [gu, g!, u!]) a.free();
  });
});

describe("GeGLU (gelu_approx(gate) · up, Gemma's MLP)", () => {
  test("float32: one primitive, within a few float32 ulps of MLX's compiled op (its tanh is libm's); other dtypes keep MLX's op", () => {
    for (const shape of [[1, 1, 2048], [3, 70, 2048], [5, 17]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      // large gates (tanh saturates), tiny ones (tanh ≈ z), negative ones
      const g = mx.array(randomF32(n, n + 5, 6).map((v, i) => (i % 11 === 0 ? v * 20 : i % 7 === 0 ? v * 1e-5 : v)), shape);
      const u = mx.array(randomF32(n, n + 6, 3), shape);
      mx.eval(g, u);
      const { ours, mlx } = both(() => mx.gegluApprox(g, u));
      const d = maxDiff(ours, mlx);
      expect(d.abs / d.scale).toBeLessThanOrEqual(1e-6);
      expect(d.abs).toBeGreaterThan(0); // really ours: MLX's bits would be equal
      g.free();
      u.free();
    }
    const names = (use: "best" | "mlx") => gatedPrimitives(use, mx.gegluApprox);
    expect(names("best")[0]).toBe("CpuGeglu");
    expect(names("best")[1]).not.toBe("CpuGeglu");
    expect(names("mlx")[0]).not.toBe("CpuGeglu");
  });
});

describe("logsumexp over the last axis", () => {
  test("float32: one primitive, MLX's op bit for bit (its exp, its order of sums), vocabulary-sized rows and -inf included", () => {
    for (const shape of [[1, 49152], [8, 1, 49152], [3, 262144], [4, 17]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      // logits-like rows with a few masked (-inf) entries, as constrained decoding leaves them
      const x = mx.array(randomF32(n, n + 3, 20).map((v, i) => (i % 97 === 5 ? -Infinity : v)), shape);
      mx.eval(x);
      for (const keepdims of [true, false]) {
        const { ours, mlx } = both(() => mx.logsumexp(x, [-1], keepdims));
        expect(ours).toEqual(mlx);
      }
      x.free();
    }
    const allMasked = mx.array(new Float32Array(32).fill(-Infinity), [2, 16]);
    const { ours, mlx } = both(() => mx.logsumexp(allMasked, [-1], true));
    expect(ours).toEqual(mlx);
    allMasked.free();
    const names = (use: "best" | "mlx") => {
      mx.cpuKernels({ use });
      return mx.scope(() => [mx.logsumexp(mx.zeros([2, 8], "float32"), [-1], true).primitive, mx.logsumexp(mx.zeros([2, 8], "float32"), [0], true).primitive]);
    };
    expect(names("best")[0]).toBe("CpuLogSumExp");
    expect(names("best")[1]).not.toBe("CpuLogSumExp"); // another axis keeps MLX's op
    expect(names("mlx")[0]).not.toBe("CpuLogSumExp");
  });
});
