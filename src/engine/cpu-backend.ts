// MLX's CPU backend. Quantized layers run on the shim's own kernels (native/mlx_c_shim/qlinear.cpp: AVX-512,
// AVX2 or the baseline, over the packed 4- and 8-bit weights), because MLX's CPU quantized_matmul is a scalar
// loop. OLLMLX_CPU_KERNELS=mlx runs MLX's own ops instead; then, as before the kernels existed, quantized
// layers are dequantized to float32 at load so that sgemm runs them. Float matmuls that remain (attention,
// unquantized models) go to BLAS: the mlx-cpu wheel links the reference (netlib) BLAS, so runner processes on
// Linux preload an optimized one (OpenBLAS from Debian's libopenblas0-pthread, which setup.sh installs).
import { existsSync } from "node:fs";
import type { CpuKernels } from "../ffi/index.ts";
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

const KERNEL_SETS: readonly CpuKernels[] = ["baseline", "avx2", "avx512", "avx512_vnni"];

/**
 * What runs quantized layers on the CPU (OLLMLX_CPU_KERNELS): "shim" (the default) the shim's kernels at the best
 * instruction set this CPU has, with float activations; a set by name forces it ("avx512_vnni" rounds the
 * activations of 4-bit layers to int8, as llama.cpp does: faster, and near-tied greedy choices change); "mlx"
 * runs MLX's own ops.
 */
export function cpuKernelChoice(env: Record<string, string | undefined> = process.env): CpuKernels | "best" {
  const v = (env.OLLMLX_CPU_KERNELS ?? "").trim().toLowerCase();
  if (v === "" || v === "shim") return "best";
  if (v === "mlx" || KERNEL_SETS.includes(v as CpuKernels)) return v as CpuKernels;
  throw new Error(`OLLMLX_CPU_KERNELS must be "shim", "mlx" or one of ${KERNEL_SETS.join(", ")}, not "${env.OLLMLX_CPU_KERNELS}"`);
}

/** Threads the shim's CPU kernels use, the calling thread included (OLLMLX_CPU_THREADS; default: every core). */
export function cpuKernelThreads(env: Record<string, string | undefined> = process.env): number | undefined {
  const v = (env.OLLMLX_CPU_THREADS ?? "").trim();
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`OLLMLX_CPU_THREADS must be a positive integer, not "${v}"`);
  return n;
}

/**
 * Whether a runner on the CPU backend should dequantize quantized weights to float32 at load:
 * OLLMLX_CPU_DEQUANTIZE=1/0 forces it; by default never with the shim's kernels (they read the packed
 * weights), and with MLX's ops only when an optimized BLAS is preloaded and the float32 weights (about
 * `params * 4` bytes) fit in a quarter of the machine's memory.
 */
export function shouldDequantizeOnCpu(params: number, device: "cpu" | "gpu", env: Record<string, string | undefined> = process.env): boolean {
  if (device !== "cpu") return false;
  const forced = env.OLLMLX_CPU_DEQUANTIZE;
  if (forced === "1") return true;
  if (forced === "0") return false;
  if (cpuKernelChoice(env) !== "mlx") return false;
  if (!env.OLLMLX_BLAS_PRELOADED) return false;
  return params * 4 < Math.min(totalmem() / 4, freemem());
}
