// MLX's CPU backend on Linux: the mlx-cpu wheel links the reference (netlib) BLAS, whose sgemm is unoptimized.
// Runner processes on Linux preload an optimized BLAS (OpenBLAS from Debian's libopenblas0-pthread, which
// setup.sh installs) that provides the same cblas_* symbols, and then run quantized layers as dequantized
// float32 matrices: MLX's CPU quantized_matmul does not use BLAS, sgemm does. On this project's 2-core machine
// that is ~15x faster prompt processing and ~2.5x faster generation (see README, Benchmarks).
import { existsSync } from "node:fs";
import { freemem, totalmem } from "node:os";

const OPENBLAS_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "/usr/lib64/libopenblas.so.0",
];

/** The optimized BLAS to preload into runners: OLLMLX_BLAS (a path, or "none"), else OpenBLAS if installed. */
export function optimizedBlas(env: Record<string, string | undefined> = process.env): string | null {
  if (process.platform !== "linux") return null;
  const chosen = env.OLLMLX_BLAS;
  if (chosen === "none") return null;
  if (chosen) return existsSync(chosen) ? chosen : null;
  return OPENBLAS_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** The environment a runner process starts with. */
export function runnerEnv(env: Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  const blas = optimizedBlas(env);
  if (!blas || (env.LD_PRELOAD ?? "").includes(blas)) return env;
  return { ...env, LD_PRELOAD: env.LD_PRELOAD ? `${blas}:${env.LD_PRELOAD}` : blas, OLLMLX_BLAS_PRELOADED: blas };
}

/**
 * Whether a runner on the CPU backend should dequantize quantized weights to float32 at load:
 * OLLMLX_CPU_DEQUANTIZE=1/0 forces it; by default, only when an optimized BLAS is preloaded and the float32
 * weights (about `params * 4` bytes) fit in a quarter of the machine's memory.
 */
export function shouldDequantizeOnCpu(params: number, device: "cpu" | "gpu", env: Record<string, string | undefined> = process.env): boolean {
  if (device !== "cpu") return false;
  const forced = env.OLLMLX_CPU_DEQUANTIZE;
  if (forced === "1") return true;
  if (forced === "0") return false;
  if (!env.OLLMLX_BLAS_PRELOADED) return false;
  return params * 4 < Math.min(totalmem() / 4, freemem());
}
