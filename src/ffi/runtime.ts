// Evaluation, memory figures, devices, streams.
import { MxArray, handles } from "./array.ts";
import { checkNumber, checkStatus, checkString } from "./errors.ts";
import { sym } from "./lib.ts";

/** Computes the arrays now (blocking). */
export function evaluate(...arrays: MxArray[]): void {
  checkStatus(sym.mlxs_eval(handles(arrays), arrays.length), "eval");
}

/** Schedules the arrays' computation and returns at once (overlaps with JS work). */
export function asyncEval(...arrays: MxArray[]): void {
  checkStatus(sym.mlxs_async_eval(handles(arrays), arrays.length), "async_eval");
}

export function synchronize(): void {
  checkStatus(sym.mlxs_synchronize(), "synchronize");
}

/** Destroys this thread's streams: call before an MLX thread exits. */
export function clearStreams(): void {
  checkStatus(sym.mlxs_clear_streams(), "clear_streams");
}

export function mlxVersion(): string {
  return checkString(sym.mlxs_version(), "version");
}

/** Byte counts of MLX's allocator. Limits return the previous value. */
export const memory = {
  active: (): number => checkNumber(sym.mlxs_active_memory(), "active_memory"),
  peak: (): number => checkNumber(sym.mlxs_peak_memory(), "peak_memory"),
  resetPeak: (): void => void checkStatus(sym.mlxs_reset_peak_memory(), "reset_peak_memory"),
  cache: (): number => checkNumber(sym.mlxs_cache_memory(), "cache_memory"),
  limit: (): number => checkNumber(sym.mlxs_memory_limit(), "memory_limit"),
  setMemoryLimit: (bytes: number): number => checkNumber(sym.mlxs_set_memory_limit(bytes), "set_memory_limit"),
  setCacheLimit: (bytes: number): number => checkNumber(sym.mlxs_set_cache_limit(bytes), "set_cache_limit"),
  setWiredLimit: (bytes: number): number => checkNumber(sym.mlxs_set_wired_limit(bytes), "set_wired_limit"),
  clearCache: (): void => void checkStatus(sym.mlxs_clear_cache(), "clear_cache"),
};

/** Returns MLX's cached buffers to the system (memory.clearCache). */
export const clearCache = memory.clearCache;

export type DeviceKind = "cpu" | "gpu";

export const device = {
  /** 0 without a GPU backend. */
  gpuCount: (): number => checkStatus(sym.mlxs_gpu_count(), "gpu_count"),
  defaultDevice: (): DeviceKind => (checkStatus(sym.mlxs_default_device(), "default_device") === 1 ? "gpu" : "cpu"),
  setDefaultDevice: (d: DeviceKind): void => void checkStatus(sym.mlxs_set_default_device(d === "gpu" ? 1 : 0), "set_default_device"),
  /** MLX's device_info: device_name, architecture, memory sizes (keys vary by backend). */
  info: (d: DeviceKind = "cpu"): Record<string, string | number> =>
    JSON.parse(checkString(sym.mlxs_device_info_json(d === "gpu" ? 1 : 0), "device_info")) as Record<string, string | number>,
};

/** What runs quantized linears on CPU streams: MLX's own op, or the shim's kernels at this instruction set. */
/** The instruction sets; "avx512_vnni" is AVX-512 whose int8 kernel uses VPDPBUSD (the others' int8 kernel: AVX2's). */
export type CpuKernels = "mlx" | "baseline" | "avx2" | "avx512" | "avx512_vnni";
/** mlxs.h's enum mlxs_cpu_isa */
const CPU_KERNELS: Record<CpuKernels | "best", number> = { mlx: 0, baseline: 1, avx2: 2, avx512: 3, avx512_vnni: 4, best: 5 };
/**
 * Which quantized layers round x to int8 (runs of 32, llama.cpp's q8 blocks) on the CPU kernels: "per-layer", those
 * made with activations "int8" (GGUF models: llama.cpp computes them so); "float", none; "int8", every 4-bit layer.
 */
export type CpuActivations = "per-layer" | "float" | "int8";
const CPU_ACTIVATIONS: readonly CpuActivations[] = ["per-layer", "float", "int8"];
const KERNELS_BY_CODE = Object.fromEntries(Object.entries(CPU_KERNELS).map(([k, v]) => [v, k as CpuKernels]));

/**
 * Chooses the CPU kernels (native/mlx_c_shim/qlinear.cpp): "mlx" runs MLX's own ops, "best" the shim's at the
 * best instruction set this CPU has, a set by name forces it (throws if the CPU lacks it); omitted: unchanged.
 * `threads` is how many threads the kernels use, the caller included (omitted: unchanged). `gemm`: whether
 * prompt-sized batches go to the process's BLAS GEMM on panels of expanded weights: "auto" (the default) when
 * that BLAS is an optimized one, "always", or "never" (omitted: unchanged). Returns what is now in use.
 */
export function cpuKernels(opts: { use?: CpuKernels | "best"; threads?: number; gemm?: "never" | "auto" | "always"; spinUs?: number; activations?: CpuActivations } = {}): CpuKernels {
  if (opts.spinUs !== undefined) checkStatus(sym.mlxs_cpu_spin(opts.spinUs), "cpu_spin");
  if (opts.activations !== undefined) checkStatus(sym.mlxs_cpu_activations(CPU_ACTIVATIONS.indexOf(opts.activations)), "cpu_activations");
  const isa = opts.use === undefined ? -1 : CPU_KERNELS[opts.use];
  const gemm = opts.gemm === undefined ? -1 : ["never", "auto", "always"].indexOf(opts.gemm);
  return KERNELS_BY_CODE[checkStatus(sym.mlxs_cpu_kernels(isa, opts.threads ?? 0, gemm), "cpu_kernels")]!;
}
