// The shim's CPU quantized-linear kernels (native/mlx_c_shim/qlinear.cpp) against MLX's own quantized_matmul on
// random inputs of the shapes the models use, at every instruction set this CPU can run.
import { afterAll, describe, expect, test } from "bun:test";

import * as mx from "../../src/ffi/index.ts";
import { widenTo8Bits } from "../../src/formats/gguf/repack.ts";
import { randomF32, relErr } from "./reference.ts";

const BEST = mx.cpuKernels();
const SETS = (["baseline", "avx2", "avx512", "avx512_vnni"] as const).filter((isa) => {
  try {
    mx.cpuKernels({ use: isa });
    return true;
  } catch {
    return false;
  }
});
afterAll(() => mx.cpuKernels({ use: "best", activations: "float" }));
const FLOAT_BEST = SETS.at(-1)!;
// The sets with an int8-activation kernel (x86-64: AVX2's VPMADDUBSW, AVX-512 VNNI's VPDPBUSD).
const INT8_SETS = process.arch === "x64" ? SETS.filter((isa) => isa !== "baseline") : [];

interface Case {
  M: number;
  N: number;
  K: number;
  bits: 4 | 8;
  groupSize: 32 | 64 | 128;
}

function operands(c: Case, seed: number, xShape: number[] = [c.M, c.K]) {
  const w = mx.array(randomF32(c.N * c.K, seed, 0.5), [c.N, c.K]);
  const q = mx.quantize(w, { groupSize: c.groupSize, bits: c.bits });
  const x = mx.array(randomF32(c.M * c.K, seed + 1), xShape);
  const bias = mx.array(randomF32(c.N, seed + 2), [c.N]);
  mx.eval(q.wq, q.scales, q.biases!, x, bias);
  w.free();
  return { ...q, x, bias };
}

/**
 * linear() under a choice of kernels, as float32; `act` "int8": a layer made to round x to int8 (as GGUF's are, 4- or
 * 8-bit), "float": float activations.
 */
function run(use: mx.CpuKernels | "best", o: ReturnType<typeof operands>, c: Case, x = o.x, withBias = true, act: "float" | "int8" = "float"): Float32Array {
  mx.cpuKernels({ use, activations: act === "int8" ? "per-layer" : "float" });
  const marked = act === "int8" ? { activations: "int8" as const } : {};
  try {
    return mx.scope(() =>
      mx.astype(mx.linear(x, o.wq, { scales: o.scales, biases: o.biases, bias: withBias ? o.bias : null, groupSize: c.groupSize, bits: c.bits, ...marked }), "float32").toFloat32(),
    );
  } finally {
    mx.cpuKernels({ activations: "float" });
  }
}

// Decode (M = 1), a batch of sequences, a prefill chunk's tails (M = 5, 33: the 4-row tiles and their rest),
// the projections' shapes (576 → 192 k/v, 1536 gate/up, the 8-bit tied head), every group size.
const CASES: Case[] = [
  { M: 1, N: 576, K: 576, bits: 4, groupSize: 64 },
  { M: 1, N: 192, K: 576, bits: 4, groupSize: 32 },
  { M: 1, N: 1539, K: 576, bits: 4, groupSize: 64 },
  { M: 2, N: 576, K: 1536, bits: 4, groupSize: 128 },
  { M: 3, N: 130, K: 256, bits: 8, groupSize: 32 },
  { M: 5, N: 1536, K: 576, bits: 4, groupSize: 32 },
  { M: 8, N: 576, K: 1536, bits: 8, groupSize: 64 },
  { M: 33, N: 200, K: 384, bits: 8, groupSize: 128 },
  { M: 1, N: 4099, K: 576, bits: 8, groupSize: 32 },
];

// float32 everywhere: MLX's CPU kernel and ours both accumulate in float32, in a different order; the bound is
// float32 rounding over K terms.
const F32_BOUND = 2e-6;

test("the shim's kernels are on by default, at the best instruction set the CPU has", () => {
  expect(BEST).not.toBe("mlx");
  expect(SETS as readonly string[]).toContain(BEST);
  expect(SETS).toContain("baseline");
});

for (const isa of SETS) {
  describe(`${isa} kernels`, () => {
    for (const c of CASES) {
      test(`M=${c.M} N=${c.N} K=${c.K}, ${c.bits}-bit, group ${c.groupSize}: equal to MLX's quantized_matmul within ${F32_BOUND} (relative)`, () => {
        const o = operands(c, c.M * 7 + c.N);
        const ref = run("mlx", o, c);
        const ours = run(isa, o, c);
        expect(relErr(ours, ref)).toBeLessThanOrEqual(F32_BOUND);
        expect(relErr(run(isa, o, c, o.x, false), run("mlx", o, c, o.x, false))).toBeLessThanOrEqual(F32_BOUND);
      });
    }
  });
}

/** x rounded as the int8 kernel rounds it: each 32-run at the scale that maps its largest magnitude to 127. */
function onInt8Grid(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length; r += 32) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[r + i]!));
    const d = Math.fround(amax / 127);
    const inv = amax > 0 ? Math.fround(127 / amax) : 0;
    for (let i = 0; i < 32; i++) out[r + i] = Math.fround(Math.round(Math.fround(x[r + i]! * inv)) * d);
  }
  return out;
}

// Uniform random x and weights: the rounding of x costs 3.7e-3 to 4.7e-3 of the largest output over these
// shapes (measured); bounded at 1e-2. Real models: test/formats/gguf.test.ts against llama.cpp.
const INT8_BOUND = 1e-2;

for (const isa of INT8_SETS) describe(`${isa}: int8 activations`, () => {
  for (const c of CASES) {
    test(`M=${c.M} N=${c.N} K=${c.K}, group ${c.groupSize}: exact on x already on the int8 grid, within ${INT8_BOUND} on any x`, () => {
      const o = operands(c, c.M * 7 + c.N);
      const ref = run("mlx", o, c);
      const ours = run(isa, o, c, o.x, true, "int8");
      const err = relErr(ours, ref);
      expect(err).toBeLessThanOrEqual(INT8_BOUND);
      expect(err).toBeGreaterThan(F32_BOUND); // the rounding is really there
      const grid = mx.array(onInt8Grid(o.x.toFloat32()), [c.M, c.K]);
      try {
        expect(relErr(run(isa, o, c, grid, true, "int8"), run("mlx", o, c, grid))).toBeLessThanOrEqual(F32_BOUND);
        expect(relErr(run(isa, o, c, grid, false, "int8"), run("mlx", o, c, grid, false))).toBeLessThanOrEqual(F32_BOUND);
      } finally {
        grid.free();
      }
    });
  }

  test("a prompt-sized batch through the GEMM gives every row what the int8 kernel gives it alone", () => {
    const c: Case = { M: 40, N: 300, K: 576, bits: 4, groupSize: 32 };
    const o = operands(c, 9);
    mx.cpuKernels({ gemm: "never" });
    const alone = run(isa, o, c, o.x, true, "int8");
    mx.cpuKernels({ gemm: "always" });
    try {
      const batched = run(isa, o, c, o.x, true, "int8");
      expect(relErr(batched, alone)).toBeLessThanOrEqual(F32_BOUND);
      expect(relErr(batched, run("mlx", o, c))).toBeGreaterThan(F32_BOUND); // rounded to the grid, as alone
    } finally {
      mx.cpuKernels({ gemm: "auto" });
    }
  });

  test("bfloat16 activations and scales (mlx-community's layout), and a strided x, on the int8 grid", () => {
    const c: Case = { M: 3, N: 160, K: 512, bits: 4, groupSize: 64 };
    const o = operands(c, 5);
    // Integers up to ±127 over 64, each 32-run reaching 127: on the int8 grid, and exact in bfloat16.
    const ints = randomF32(c.M * c.K, 6).map((v, i) => (i % 32 === 0 ? 127 : Math.round(v * 127)) / 64);
    const x16 = mx.astype(mx.array(ints, [c.M, c.K]), "bfloat16");
    // the same values as a transposed view of a (K, M) buffer: strides (1, M)
    const t = new Float32Array(ints.length);
    for (let m = 0; m < c.M; m++) for (let k = 0; k < c.K; k++) t[k * c.M + m] = ints[m * c.K + k]!;
    const xs = mx.transpose(mx.astype(mx.array(t, [c.K, c.M]), "bfloat16"));
    const [s16, b16] = [mx.astype(o.scales, "bfloat16"), mx.astype(o.biases!, "bfloat16")];
    mx.eval(x16, xs, s16, b16);
    const y = (use: mx.CpuKernels, x: mx.MxArray, activations: mx.CpuActivations = "float") => {
      mx.cpuKernels({ use, activations });
      try {
        return mx.scope(() => mx.astype(mx.quantizedMatmul(x, o.wq, s16, b16, { groupSize: 64, bits: 4 }), "float32").toFloat32());
      } finally {
        mx.cpuKernels({ activations: "float" });
      }
    };
    // the same float32 sums up to their order, each rounded once to bfloat16: one ulp of the largest output
    expect(relErr(y(isa, x16, "int8"), y(FLOAT_BEST, x16))).toBeLessThanOrEqual(2 ** -7);
    expect(relErr(y(isa, xs, "int8"), y(FLOAT_BEST, x16))).toBeLessThanOrEqual(2 ** -7);
    for (const a of [x16, xs, s16, b16]) a.free();
  });

  test("every row of a batch gets the bits it gets alone (rows 1-13: every tile and remainder; 4- and 8-bit)", () => {
    for (const bits of [4, 8] as const) {
      const c: Case = { M: 13, N: 203, K: 576, bits, groupSize: 32 };
      const o = operands(c, 44 + bits);
      const batch = run(isa, o, c, o.x, true, "int8");
      for (const m of [0, 3, 7, 8, 12]) {
        const row = mx.scope(() => mx.persist(mx.slice(o.x, [m, 0], [m + 1, c.K])));
        const alone = run(isa, o, { ...c, M: 1 }, row, true, "int8");
        row.free();
        expect(alone).toEqual(batch.subarray(m * c.N, (m + 1) * c.N));
      }
    }
  });
});

describe.if(INT8_SETS.length > 0)("which layers round x to int8 (OLLMLX_CPU_ACTIVATIONS)", () => {
  const c: Case = { M: 2, N: 128, K: 256, bits: 4, groupSize: 32 };
  const layer = (o: ReturnType<typeof operands>, act: mx.CpuActivations, marked: boolean, cc: Case = c) => {
    mx.cpuKernels({ use: "best", activations: act });
    try {
      const q = { scales: o.scales, biases: o.biases, groupSize: cc.groupSize, bits: cc.bits, ...(marked ? { activations: "int8" as const } : {}) };
      return mx.scope(() => mx.linear(o.x, o.wq, q).toFloat32());
    } finally {
      mx.cpuKernels({ activations: "float" });
    }
  };
  test("per layer (the default): layers made with activations int8 (GGUF's) round, others keep float; float and int8 (every 4-bit layer) override", () => {
    const o = operands(c, 51);
    const float = run("best", o, c, o.x, false);
    const int8 = run("best", o, c, o.x, false, "int8");
    expect(int8).not.toEqual(float);
    expect(layer(o, "per-layer", true)).toEqual(int8);
    expect(layer(o, "per-layer", false)).toEqual(float);
    expect(layer(o, "float", true)).toEqual(float);
    expect(layer(o, "int8", false)).toEqual(int8);
  });
  test("int8 for all leaves 8-bit layers (MoE routers in mlx-community models) in float; a GGUF 8-bit layer rounds", () => {
    const c8: Case = { ...c, bits: 8 };
    const o = operands(c8, 52);
    const float = run("best", o, c8, o.x, false);
    expect(layer(o, "int8", false, c8)).toEqual(float);
    expect(layer(o, "per-layer", true, c8)).not.toEqual(float);
  });
});

test("the switch changes what runs: MLX's op again, bit for bit, and ours", () => {
  const c: Case = { M: 1, N: 64, K: 128, bits: 4, groupSize: 64 };
  const o = operands(c, 3);
  const op = (use: "best" | "mlx") => {
    mx.cpuKernels({ use });
    return mx.scope(() => mx.linear(o.x, o.wq, { scales: o.scales, biases: o.biases, groupSize: 64, bits: 4 }).primitive);
  };
  expect(op("best")).toBe("QLinear");
  expect(op("mlx")).toBe("QuantizedMatmul");
  const ref = run("mlx", o, c);
  // Bitwise the same as before switching back and forth: the switch really changes what runs.
  expect(run("mlx", o, c)).toEqual(ref);
  expect(run("best", o, c)).not.toEqual(ref);
});

test("prompt-sized batches through the BLAS GEMM on expanded panels equal MLX's op (any BLAS, forced)", () => {
  for (const c of [{ M: 32, N: 600, K: 576, bits: 4, groupSize: 64 }, { M: 70, N: 300, K: 256, bits: 8, groupSize: 32 }] as Case[]) {
    const o = operands(c, c.M + c.N);
    const ref = run("mlx", o, c);
    mx.cpuKernels({ gemm: "always" });
    try {
      expect(relErr(run(FLOAT_BEST, o, c), ref)).toBeLessThanOrEqual(F32_BOUND);
      expect(relErr(run(FLOAT_BEST, o, c, o.x, false), run("mlx", o, c, o.x, false))).toBeLessThanOrEqual(F32_BOUND);
    } finally {
      mx.cpuKernels({ gemm: "auto" });
    }
  }
});

test("one thread and two give bit-identical results (columns are split, never a sum)", () => {
  const c: Case = { M: 4, N: 2048, K: 1024, bits: 4, groupSize: 64 };
  const o = operands(c, 11);
  mx.cpuKernels({ threads: 1 });
  const one = run("best", o, c);
  mx.cpuKernels({ threads: 2 });
  const two = run("best", o, c);
  expect(two).toEqual(one);
});

// Batched decode relies on it: a sequence's tokens must not depend on what runs beside it. Rows 1-13 exercise the
// 8-, 4-, 2- and 1-row tiles and their column remainders (N = 203 is odd).
for (const isa of SETS) {
  test(`${isa}: every row of a batch gets the bits it gets alone (4- and 8-bit)`, () => {
    for (const bits of [4, 8] as const) {
      const c: Case = { M: 13, N: 203, K: 576, bits, groupSize: 32 };
      const o = operands(c, 40 + bits);
      const batch = run(isa, o, c);
      for (const m of [0, 3, 7, 8, 12]) {
        const row = mx.scope(() => mx.persist(mx.slice(o.x, [m, 0], [m + 1, c.K])));
        const alone = run(isa, o, { ...c, M: 1 }, row);
        row.free();
        expect(alone).toEqual(batch.subarray(m * c.N, (m + 1) * c.N));
      }
    }
  });
}

test("x as a strided view (transposed, batched) is read in place", () => {
  const c: Case = { M: 6, N: 96, K: 256, bits: 8, groupSize: 32 };
  const o = operands(c, 21, [c.K, c.M]);
  const xt = mx.transpose(o.x);
  expect(relErr(run("best", o, c, xt), run("mlx", o, c, xt))).toBeLessThanOrEqual(F32_BOUND);
  const x3 = mx.reshape(mx.transpose(mx.reshape(o.x, [c.K, 2, 3]), [1, 2, 0]), [2, 3, c.K]);
  expect(relErr(run("best", o, c, x3), run("mlx", o, c, x3))).toBeLessThanOrEqual(F32_BOUND);
});

test("weights not yet evaluated fall back to MLX's op (the kernel reads evaluated, contiguous buffers)", () => {
  const c: Case = { M: 2, N: 64, K: 128, bits: 4, groupSize: 32 };
  const o = operands(c, 31);
  mx.cpuKernels({ use: "best" });
  const lazy = mx.scope(() => {
    const w = mx.add(o.wq, mx.scalar(0, "uint32"));
    return mx.linear(o.x, w, { scales: o.scales, biases: o.biases, groupSize: 32, bits: 4 }).toFloat32();
  });
  expect(lazy).toEqual(run("mlx", o, c, o.x, false));
});

describe("half-precision models: bfloat16 and float16 activations, scales and biases", () => {
  for (const dtype of ["bfloat16", "float16"] as const) {
    test(`${dtype}: within the output's own rounding of the float32 computation, where MLX's CPU kernel is not`, () => {
      const [N, K] = [256, 1024];
      const w = mx.astype(mx.array(randomF32(N * K, 41, 0.5), [N, K]), dtype);
      const q = mx.quantize(w, { groupSize: 64, bits: 4 });
      const x = mx.astype(mx.array(randomF32(K, 42), [1, K]), dtype);
      mx.eval(q.wq, q.scales, q.biases!, x);
      expect(q.scales.dtype).toBe(dtype);
      // The truth: the same stored values, computed in float32.
      const truth = mx.scope(() =>
        mx.matmul(mx.astype(x, "float32"), mx.transpose(mx.dequantize(q.wq, mx.astype(q.scales, "float32"), mx.astype(q.biases!, "float32"), { groupSize: 64, bits: 4 }))).toFloat32(),
      );
      const y = (use: mx.CpuKernels | "best") => {
        mx.cpuKernels({ use });
        return mx.scope(() => {
          const out = mx.quantizedMatmul(x, q.wq, q.scales, q.biases, { groupSize: 64, bits: 4 });
          expect(out.dtype).toBe(dtype);
          return mx.astype(out, "float32").toFloat32();
        });
      };
      // One rounding of the result to the dtype: half an ulp of the largest output (bf16: 2^-8, f16: 2^-11).
      const ulp = dtype === "bfloat16" ? 2 ** -8 : 2 ** -11;
      expect(relErr(y(FLOAT_BEST), truth)).toBeLessThanOrEqual(ulp);
      // MLX 0.32.4 accumulates bfloat16 products in bfloat16 on the CPU: percent-level errors.
      if (dtype === "bfloat16") expect(relErr(y("mlx"), truth)).toBeGreaterThan(4 * ulp);
    });
  }
});

test("3-, 5- and 6-bit weights stored again as 8-bit values are the same weights (what the loader does for the kernels)", () => {
  for (const bits of [2, 3, 5, 6]) {
    const out = mx.scope(() => {
      const w = mx.array(randomF32(8 * 128, bits, 0.5), [8, 128]);
      const q = mx.quantize(w, { groupSize: 32, bits });
      const w8 = mx.fromBytes(widenTo8Bits(q.wq.toBytes(), bits), [8, 128 / 4], "uint32");
      return {
        a: mx.dequantize(q.wq, q.scales, q.biases, { groupSize: 32, bits }).toFloat32(),
        b: mx.dequantize(w8, q.scales, q.biases, { groupSize: 32, bits: 8 }).toFloat32(),
      };
    });
    expect(out.b).toEqual(out.a);
  }
});

test("the pool's spin time is set in microseconds (OLLMLX_CPU_SPIN_US), a negative one refused, and results do not depend on it", () => {
  const c: Case = { M: 3, N: 1024, K: 576, bits: 4, groupSize: 32 };
  const o = operands(c, 23);
  mx.cpuKernels({ spinUs: 0 });
  const asleep = run("best", o, c);
  mx.cpuKernels({ spinUs: 100 });
  expect(run("best", o, c)).toEqual(asleep);
  expect(() => mx.cpuKernels({ spinUs: -1 })).toThrow("negative");
});
