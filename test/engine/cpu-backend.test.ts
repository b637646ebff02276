// The CPU backend's settings (OLLMLX_CPU_KERNELS, OLLMLX_CPU_DEQUANTIZE) as a runner applies them; how each is parsed:
// test/config/settings.test.ts.
import { expect, test } from "bun:test";

import { OLLMLX_CPU_KERNELS } from "../../src/config/settings.ts";
import { optimizedBlas, runnerEnv, shouldDequantizeOnCpu } from "../../src/engine/cpu-backend.ts";
import * as mx from "../../src/ffi/index.ts";

test("each choice is one the shim takes, and a set this CPU lacks is refused with the reason", () => {
  const before = mx.cpuKernels();
  try {
    expect(mx.cpuKernels({ use: OLLMLX_CPU_KERNELS.read({ OLLMLX_CPU_KERNELS: "baseline" }) })).toBe("baseline");
    expect(mx.cpuKernels({ use: OLLMLX_CPU_KERNELS.read({}) })).toBe(before);
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

test.if(optimizedBlas({}) !== null)("a runner preloads OpenBLAS with its idle threads told to sleep at once, unless the user set it", () => {
  const env = runnerEnv({ PATH: "/usr/bin" });
  expect(env.LD_PRELOAD).toContain("openblas");
  expect(env.OPENBLAS_THREAD_TIMEOUT).toBe("4");
  expect(runnerEnv({ PATH: "/usr/bin", OPENBLAS_THREAD_TIMEOUT: "20" }).OPENBLAS_THREAD_TIMEOUT).toBe("20");
});
