// MLX's CPU backend. Quantized layers run on the shim's own kernels (native/mlx_c_shim/qlinear.cpp: AVX-512,
// AVX2 or the baseline, over the packed 4- and 8-bit weights), because MLX's CPU quantized_matmul is a scalar
// loop. OLLMLX_CPU_KERNELS=mlx runs MLX's own ops instead; then, as before the kernels existed, quantized
// layers are dequantized to float32 at load so that sgemm runs them. Float matmuls that remain (attention,
// unquantized models) go to BLAS: the mlx-cpu wheel links the reference (netlib) BLAS, so runner processes on
// Linux preload an optimized one (OpenBLAS from Debian's libopenblas0-pthread, which setup.sh installs).
import { existsSync } from "node:fs";
import { freemem, totalmem } from "node:os";
import type { Env } from "../config/env.ts";
import { OLLMLX_BLAS, OLLMLX_BLAS_PRELOADED, OLLMLX_CPU_DEQUANTIZE, OLLMLX_CPU_KERNELS } from "../config/settings.ts";

const OPENBLAS_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "/usr/lib64/libopenblas.so.0",
];

/** The optimized BLAS to preload into runners: OLLMLX_BLAS (a path, or "none"), else OpenBLAS if installed. */
export function optimizedBlas(env?: Env): string | null {
  if (process.platform !== "linux") return null;
  const chosen = OLLMLX_BLAS.read(env);
  if (chosen === "none") return null;
  if (chosen) return existsSync(chosen) ? chosen : null;
  return OPENBLAS_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** The environment a runner process starts with. */
export function runnerEnv(env: Env = process.env): Env {
  const blas = optimizedBlas(env);
  if (!blas || (env.LD_PRELOAD ?? "").includes(blas)) return env;
  return {
    ...env,
    LD_PRELOAD: env.LD_PRELOAD ? `${blas}:${env.LD_PRELOAD}` : blas,
    [OLLMLX_BLAS_PRELOADED.name]: blas,
    // OpenBLAS's idle threads yield in a loop for 2^28 cycles (~0.1 s) after each GEMM, taking the cores from the
    // kernels' own pool and MLX's thread between a prompt's GEMMs: 2^4 lets them sleep at once (a 256-token
    // prompt: SmolLM2 166 -> 238 tok/s, Gemma 3 192 -> 235 on 2 cores). A value the user set is kept.
    OPENBLAS_THREAD_TIMEOUT: env.OPENBLAS_THREAD_TIMEOUT ?? "4",
  };
}

/**
 * Whether a runner on the CPU backend should dequantize quantized weights to float32 at load:
 * OLLMLX_CPU_DEQUANTIZE=1/0 forces it; by default never with the shim's kernels (they read the packed
 * weights), and with MLX's ops only when an optimized BLAS is preloaded and the float32 weights (about
 * `params * 4` bytes) fit in a quarter of the machine's memory.
 */
export function shouldDequantizeOnCpu(params: number, device: "cpu" | "gpu", env?: Env): boolean {
  if (device !== "cpu") return false;
  const forced = OLLMLX_CPU_DEQUANTIZE.read(env);
  if (forced !== "auto") return forced;
  if (OLLMLX_CPU_KERNELS.read(env) !== "mlx") return false;
  if (!OLLMLX_BLAS_PRELOADED.read(env)) return false;
  return params * 4 < Math.min(totalmem() / 4, freemem());
}
