// The CPU backend's settings (OLLMLX_CPU_KERNELS, OLLMLX_CPU_THREADS, OLLMLX_CPU_DEQUANTIZE) as a runner reads them.
import { expect, test } from "bun:test";

import { cpuKernelChoice, cpuKernelThreads, shouldDequantizeOnCpu } from "../../src/engine/cpu-backend.ts";
import * as mx from "../../src/ffi/index.ts";

test("OLLMLX_CPU_KERNELS: shim (the default) is the best set, a set by name forces it, anything else is an error", () => {
  expect(cpuKernelChoice({})).toBe("best");
  expect(cpuKernelChoice({ OLLMLX_CPU_KERNELS: " Shim " })).toBe("best");
  expect(cpuKernelChoice({ OLLMLX_CPU_KERNELS: "mlx" })).toBe("mlx");
  for (const set of ["baseline", "avx2", "avx512", "avx512_vnni"] as const) expect(cpuKernelChoice({ OLLMLX_CPU_KERNELS: set })).toBe(set);
  expect(() => cpuKernelChoice({ OLLMLX_CPU_KERNELS: "fast" })).toThrow('OLLMLX_CPU_KERNELS must be "shim", "mlx" or one of baseline, avx2, avx512, avx512_vnni, not "fast"');
});

test("each choice is one the shim takes, and a set this CPU lacks is refused with the reason", () => {
  const before = mx.cpuKernels();
  try {
    expect(mx.cpuKernels({ use: cpuKernelChoice({ OLLMLX_CPU_KERNELS: "baseline" }) })).toBe("baseline");
    expect(mx.cpuKernels({ use: cpuKernelChoice({}) })).toBe(before);
    for (const set of ["avx2", "avx512", "avx512_vnni"] as const) {
      try {
        expect(mx.cpuKernels({ use: set })).toBe(set);
      } catch (err) {
        expect(String(err)).toContain("this CPU cannot run kernel set");
      }
    }
  } finally {
    mx.cpuKernels({ use: "best" });
  }
});

test("OLLMLX_CPU_THREADS: a positive integer or unset", () => {
  expect(cpuKernelThreads({})).toBeUndefined();
  expect(cpuKernelThreads({ OLLMLX_CPU_THREADS: "2" })).toBe(2);
  for (const bad of ["0", "-1", "1.5", "two"]) expect(() => cpuKernelThreads({ OLLMLX_CPU_THREADS: bad })).toThrow("OLLMLX_CPU_THREADS must be a positive integer");
});

test("quantized weights stay packed on the CPU with any of the shim's sets; float32 only with MLX's ops and a BLAS", () => {
  const preloaded = { OLLMLX_BLAS_PRELOADED: "/usr/lib/libopenblas.so.0" };
  expect(shouldDequantizeOnCpu(1e6, "cpu", preloaded)).toBe(false);
  expect(shouldDequantizeOnCpu(1e6, "cpu", { ...preloaded, OLLMLX_CPU_KERNELS: "avx512_vnni" })).toBe(false);
  expect(shouldDequantizeOnCpu(1e6, "cpu", { ...preloaded, OLLMLX_CPU_KERNELS: "mlx" })).toBe(true);
  expect(shouldDequantizeOnCpu(1e6, "cpu", { OLLMLX_CPU_KERNELS: "mlx" })).toBe(false);
  expect(shouldDequantizeOnCpu(1e6, "gpu", { ...preloaded, OLLMLX_CPU_KERNELS: "mlx" })).toBe(false);
  expect(shouldDequantizeOnCpu(1e6, "cpu", { OLLMLX_CPU_DEQUANTIZE: "1" })).toBe(true);
  expect(shouldDequantizeOnCpu(1e6, "cpu", { ...preloaded, OLLMLX_CPU_KERNELS: "mlx", OLLMLX_CPU_DEQUANTIZE: "0" })).toBe(false);
});
