// Loads the native shim (native/mlx_c_shim → build/libmlxs.so) and declares every symbol of mlxs.h.
// This file and its siblings in src/ffi/ are the only code that imports bun:ffi.
import { dlopen, suffix } from "bun:ffi";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { OLLMLX_MLX_LIB, OLLMLX_SHIM } from "../config/settings.ts";

const I = "i32";
const D = "f64";
const F = "f32";
const P = "ptr";
const S = "cstring";

const fn = <const A extends readonly string[], const R extends string>(args: A, returns: R) => ({ args, returns });

const symbols = {
  mlxs_abi_version: fn([], I),
  mlxs_version: fn([], S),
  mlxs_last_error: fn([], S),
  mlxs_clear_error: fn([], "void"),

  mlxs_scope_begin: fn([], I),
  mlxs_scope_end: fn([I, P, I], I),
  mlxs_free: fn([I], I),
  mlxs_live_count: fn([], I),
  mlxs_is_valid: fn([I], I),
  mlxs_retain: fn([I], I),
  mlxs_detach: fn([I], I),

  mlxs_from_bytes: fn([P, D, P, I, I], I),
  mlxs_from_f64: fn([P, P, I, I], I),
  mlxs_scalar: fn([D, I], I),
  mlxs_ndim: fn([I], I),
  mlxs_shape: fn([I, P, I], I),
  mlxs_dtype: fn([I], I),
  mlxs_primitive_name: fn([I], S),
  mlxs_size: fn([I], D),
  mlxs_nbytes: fn([I], D),
  mlxs_eval: fn([P, I], I),
  mlxs_async_eval: fn([P, I], I),
  mlxs_item: fn([I, P], I),
  mlxs_to_bytes: fn([I, P, D], I),

  mlxs_unary: fn([I, I], I),
  mlxs_binary: fn([I, I, I], I),
  mlxs_binary_scalar: fn([I, I, D, I], I),
  mlxs_reduce: fn([I, I, P, I, I], I),
  mlxs_argmax: fn([I, I, I], I),
  mlxs_argmin: fn([I, I, I], I),
  mlxs_clip: fn([I, D, D], I),
  mlxs_where: fn([I, I, I], I),
  mlxs_softmax: fn([I, P, I, I], I),
  mlxs_cumsum: fn([I, I, I, I], I),
  mlxs_sort: fn([I, I], I),
  mlxs_argsort: fn([I, I], I),
  mlxs_argpartition: fn([I, I, I], I),
  mlxs_topk: fn([I, I, I], I),

  mlxs_reshape: fn([I, P, I], I),
  mlxs_transpose: fn([I, P, I], I),
  mlxs_swapaxes: fn([I, I, I], I),
  mlxs_expand_dims: fn([I, P, I], I),
  mlxs_squeeze: fn([I, P, I], I),
  mlxs_flatten: fn([I, I, I], I),
  mlxs_slice: fn([I, P, P, P, I], I),
  mlxs_slice_dynamic: fn([I, I, P, I, P, I], I),
  mlxs_slice_update: fn([I, I, P, P, P, I], I),
  mlxs_slice_update_dynamic: fn([I, I, I, P, I], I),
  mlxs_concatenate: fn([P, I, I], I),
  mlxs_stack: fn([P, I, I], I),
  mlxs_split: fn([I, P, I, I, P, I], I),
  mlxs_split_equal: fn([I, I, I, P, I], I),
  mlxs_take: fn([I, I, I], I),
  mlxs_take_along_axis: fn([I, I, I], I),
  mlxs_put_along_axis: fn([I, I, I, I], I),
  mlxs_broadcast_to: fn([I, P, I], I),
  mlxs_astype: fn([I, I], I),
  mlxs_view: fn([I, I], I),
  mlxs_zeros: fn([P, I, I], I),
  mlxs_ones: fn([P, I, I], I),
  mlxs_full: fn([P, I, D, I], I),
  mlxs_arange: fn([D, D, D, I], I),
  mlxs_tri: fn([I, I, I, I], I),
  mlxs_tril: fn([I, I], I),
  mlxs_triu: fn([I, I], I),
  mlxs_repeat: fn([I, I, I], I),
  mlxs_pad: fn([I, P, P, P, I, D], I),

  mlxs_matmul: fn([I, I], I),
  mlxs_addmm: fn([I, I, I, F, F], I),
  mlxs_quantize: fn([I, I, I, I, P], I),
  mlxs_dequantize: fn([I, I, I, I, I, I, I], I),
  mlxs_quantized_matmul: fn([I, I, I, I, I, I, I, I], I),
  mlxs_gather_qmm: fn([I, I, I, I, I, I, I, I, I, I, I], I),
  mlxs_gather_mm: fn([I, I, I, I, I], I),
  mlxs_linear: fn([I, I, I, I, I, I, I, I], I),
  mlxs_embedding: fn([I, I, I, I, I, I, I], I),
  mlxs_swiglu: fn([I, I], I),
  mlxs_geglu_approx: fn([I, I], I),
  mlxs_conv1d: fn([I, I, I, I, I, I], I),
  mlxs_gdn_decay: fn([I, I, I], I),
  mlxs_gdn_step: fn([I, I, I, I, I, I, P], I),
  mlxs_precise_swiglu: fn([I, I, I], I),

  mlxs_rms_norm: fn([I, I, F], I),
  mlxs_layer_norm: fn([I, I, I, F], I),
  mlxs_rope: fn([I, I, I, F, F, I, I, I], I),
  mlxs_sdpa: fn([I, I, I, F, I, I, I], I),
  mlxs_sdpa_padded: fn([I, I, I, F, I], I),

  mlxs_value_and_grad: fn([P, P, P, I, P, I, P, I, P], I),
  mlxs_checkpoint: fn([P, P, P, I, P, I], I),

  mlxs_random_key: fn([D], I),
  mlxs_random_split: fn([I, I], I),
  mlxs_random_seed: fn([D], I),
  mlxs_random_categorical: fn([I, I, I], I),
  mlxs_random_uniform: fn([P, I, D, D, I, I], I),
  mlxs_random_normal: fn([P, I, D, D, I, I], I),
  mlxs_random_gumbel: fn([P, I, I, I], I),
  mlxs_random_randint: fn([P, I, D, D, I, I], I),

  mlxs_st_open: fn([P], I),
  mlxs_st_json: fn([I], S),
  mlxs_st_get: fn([I, P], I),
  mlxs_st_close: fn([I], I),
  mlxs_st_save: fn([P, P, P, I, P, I], I),

  mlxs_active_memory: fn([], D),
  mlxs_peak_memory: fn([], D),
  mlxs_reset_peak_memory: fn([], I),
  mlxs_cache_memory: fn([], D),
  mlxs_memory_limit: fn([], D),
  mlxs_set_memory_limit: fn([D], D),
  mlxs_set_cache_limit: fn([D], D),
  mlxs_set_wired_limit: fn([D], D),
  mlxs_clear_cache: fn([], I),
  mlxs_gpu_count: fn([], I),
  mlxs_default_device: fn([], I),
  mlxs_cpu_kernels: fn([I, I, I], I),
  mlxs_cpu_spin: fn([I], I),
  mlxs_cpu_activations: fn([I], I),
  mlxs_gguf_repack: fn([I, P, D, P, P, P], I),
  mlxs_set_default_device: fn([I], I),
  mlxs_device_info_json: fn([I], S),
  mlxs_synchronize: fn([], I),
  mlxs_clear_streams: fn([], I),
} as const;

/** The ABI this TypeScript was written against (MLXS_ABI_VERSION in mlxs.h). */
export const ABI_VERSION = 7;

/** Compiled by `bun build --compile`: sources live in Bun's embedded filesystem, there is no repo around us. */
const COMPILED = import.meta.dir.startsWith("/$bunfs") || /^[A-Z]:[\\/]~BUN/.test(import.meta.dir);

/**
 * Where the shim may be, in the order tried: $OLLMLX_SHIM, the repo's build/ (not when compiled), next to the
 * executable (the compiled binary's layout, docs/packaging.md), next to the executable's real path (Homebrew links
 * bin/ollmlx into libexec/).
 */
export function shimCandidates(): string[] {
  const name = `libmlxs.${suffix}`;
  const chosen = OLLMLX_SHIM.read();
  if (chosen) return [resolve(chosen)];
  const beside = [join(dirname(process.execPath), name)];
  try {
    beside.push(join(dirname(realpathSync(process.execPath)), name));
  } catch {
    // execPath always exists while we run; realpath only fails on exotic filesystems, and the plain path stays.
  }
  const repo = COMPILED ? [] : [resolve(import.meta.dir, "../../build", name)];
  return [...repo, ...new Set(beside)];
}

const LIBMLX = `libmlx.${suffix}`;
const HOW_TO_FIX = COMPILED
  ? process.platform === "darwin"
    ? "install Homebrew's mlx (`brew install mlx`), or reinstall ollmlx"
    : "keep the mlx/ and mlx_cpu.libs/ folders next to the ollmlx executable (copy dist/ as a whole), or point " +
      `OLLMLX_MLX_LIB at a folder holding ${LIBMLX} (e.g. the mlx-cpu wheel's mlx/lib)`
  : "run `bash scripts/setup.sh`";

/**
 * $OLLMLX_MLX_LIB: a folder holding libmlx, loaded before the shim. The dynamic linker then satisfies the shim's
 * dependency on libmlx with this already-loaded copy (matched by soname) instead of searching its RUNPATH.
 */
function preloadLibmlx(): void {
  const dir = OLLMLX_MLX_LIB.read();
  if (!dir) return;
  const path = resolve(dir, LIBMLX);
  if (!existsSync(path)) throw new Error(`OLLMLX_MLX_LIB=${dir} holds no ${LIBMLX}; point it at the folder with MLX's ${LIBMLX}`);
  try {
    // bun:ffi wants one symbol: mlx::core::version(), exported by every libmlx; never called.
    dlopen(path, { _ZN3mlx4core7versionEv: { args: [], returns: "void" } });
  } catch (err) {
    throw new Error(`${path} (from OLLMLX_MLX_LIB) could not be loaded: ${(err as Error).message}`);
  }
}

function open() {
  const tried = shimCandidates();
  const path = tried.find((p) => existsSync(p));
  if (!path) {
    const fix = COMPILED ? "reinstall ollmlx, or set OLLMLX_SHIM to its path" : "run `bash scripts/setup.sh` to build it";
    throw new Error(`the MLX shim (libmlxs.${suffix}) was not found; tried: ${tried.join(", ")}. To fix: ${fix}`);
  }
  preloadLibmlx();
  let lib;
  try {
    lib = dlopen(path, symbols);
  } catch (err) {
    const message = (err as Error).message;
    if (message.includes(LIBMLX) || /libmlx|mlx_cpu|lapack|blas|gfortran/.test(message)) {
      throw new Error(`MLX (${LIBMLX} or a library it needs) could not be loaded for ${path}: ${message}. To fix: ${HOW_TO_FIX}`);
    }
    throw new Error(`the MLX shim ${path} could not be loaded: ${message}`);
  }
  const abi = lib.symbols.mlxs_abi_version();
  if (abi !== ABI_VERSION) {
    throw new Error(`${path} has ABI version ${abi}, this code needs ${ABI_VERSION}: rebuild with \`bash scripts/setup.sh\``);
  }
  return lib.symbols;
}

/** The raw shim functions, typed from the table above. Call them through the wrappers, which check errors. */
export const sym = open();

/** A NUL-terminated UTF-8 copy of s, for `const char*` arguments. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}
