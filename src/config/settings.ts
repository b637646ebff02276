// Every setting users can change, declared once (Ollama's envconfig/config.go): the variable's name (Ollama's where
// Ollama has one), its default as the docs show it, what it does, and how its text is parsed. Nothing else reads
// these variables; the README's table (scripts/env-table.ts) and `serve --help` are generated from this list.
import { homedir, totalmem } from "node:os";
import { join } from "node:path";
import { byteCount, envVar, goBool, keepAliveMs, parseHost, positiveInt, timeoutMs, type Env } from "./env.ts";

export interface Setting<T> {
  readonly name: string;
  /** also read when `name` is unset (OLLMLX_MODELS falls back to Ollama's OLLAMA_MODELS) */
  readonly alias?: string;
  /** the default, as the README shows it */
  readonly default: string;
  /** the README's "effect" column */
  readonly doc: string;
  /** Ollama's line for it in `--help`, where a command lists it */
  readonly help?: string;
  /** set by ollmlx itself or its tests, not by users: not in the README */
  readonly internal?: boolean;
  /** the value in `env` (the process's environment unless given), parsed; throws on a value it must refuse */
  read(env?: Env): T;
}

export const SETTINGS: Setting<unknown>[] = [];

function declare<T>(spec: Omit<Setting<T>, "read"> & { parse: (raw: string) => T }): Setting<T> {
  const { parse, ...rest } = spec;
  const setting: Setting<T> = {
    ...rest,
    read: (env = process.env) => parse(envVar(env, spec.name) || (spec.alias ? envVar(env, spec.alias) : "")),
  };
  SETTINGS.push(setting);
  return setting;
}

const optionalText = (raw: string): string | undefined => raw || undefined;

// --- the server

export const OLLAMA_HOST = declare({
  name: "OLLAMA_HOST",
  default: "`127.0.0.1:11434`",
  doc: "where `serve` listens (`[scheme://]host[:port]`)",
  help: "IP Address for the ollmlx server (default 127.0.0.1:11434)",
  parse: parseHost,
});

/** Whether OLLAMA_HOST is set at all (the CLI's "could not connect" says where the address came from). */
export function hostIsSet(env: Env = process.env): boolean {
  return envVar(env, OLLAMA_HOST.name) !== "";
}

export const OLLAMA_KEEP_ALIVE = declare({
  name: "OLLAMA_KEEP_ALIVE",
  default: "`5m`",
  doc: "how long an idle model stays loaded (duration or seconds; negative = forever)",
  help: 'The duration that models stay loaded in memory (default "5m")',
  parse: keepAliveMs,
});

export const OLLAMA_MAX_LOADED_MODELS = declare({
  name: "OLLAMA_MAX_LOADED_MODELS",
  default: "`3`",
  doc: "runner processes kept at once; the idle one expiring soonest is evicted",
  help: "Maximum number of loaded models (default: 3)",
  parse: positiveInt(3),
});

export const OLLAMA_MAX_QUEUE = declare({
  name: "OLLAMA_MAX_QUEUE",
  default: "`512`",
  doc: "requests waiting at once; beyond it, 503",
  help: "Maximum number of queued requests",
  parse: positiveInt(512),
});

export const OLLAMA_NUM_PARALLEL = declare({
  name: "OLLAMA_NUM_PARALLEL",
  default: "`4`",
  doc: "requests one model serves at once, their decode steps batched; more wait in the queue",
  parse: positiveInt(4),
});

/** Ollama picks 4k/32k/256k by VRAM; we start at the smallest. */
export const OLLAMA_CONTEXT_LENGTH = declare({
  name: "OLLAMA_CONTEXT_LENGTH",
  default: "`4096`",
  doc: "default `num_ctx`",
  help: "Context length to use unless otherwise specified (default: 4096)",
  // envconfig.Uint: a non-negative integer; 0 or anything else is unset
  parse: (raw) => (/^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : 4096),
});

export const OLLAMA_ORIGINS = declare({
  name: "OLLAMA_ORIGINS",
  default: "loopback and app origins",
  doc: "more origins allowed to call the API from a browser, comma-separated (`*` allows any)",
  help: "A comma separated list of allowed origins",
  parse: (raw) => (raw ? raw.split(",").map((o) => o.trim()) : []),
});

export const OLLAMA_DEBUG = declare({
  name: "OLLAMA_DEBUG",
  default: "unset",
  doc: "accepted for Ollama's sake; ollmlx logs nothing more with it yet",
  help: "Show additional debug information (e.g. OLLAMA_DEBUG=1)",
  parse: goBool,
});

// --- the store and pulls

export const OLLMLX_MODELS = declare({
  name: "OLLMLX_MODELS",
  alias: "OLLAMA_MODELS",
  default: "`~/.ollmlx/models`",
  doc: "the model store, in Ollama's layout (manifests/ and blobs/)",
  help: "The path to the models directory",
  parse: (raw) => raw || join(homedir(), ".ollmlx", "models"),
});

export const HF_ENDPOINT = declare({
  name: "HF_ENDPOINT",
  default: "Hugging Face",
  doc: "where Hugging Face pulls go",
  parse: optionalText,
});

export const HF_TOKEN = declare({
  name: "HF_TOKEN",
  default: "unset",
  doc: "the token sent with Hugging Face pulls",
  parse: optionalText,
});

export const OLLAMA_MAX_TRANSFER_STREAMS = declare({
  name: "OLLAMA_MAX_TRANSFER_STREAMS",
  default: "`4`",
  doc: "files downloaded at once by a pull",
  parse: positiveInt(4),
});

export const OLLAMA_NOPRUNE = declare({
  name: "OLLAMA_NOPRUNE",
  default: "unset",
  doc: "keep layers a re-pull no longer uses",
  parse: goBool,
});

export const OLLMLX_PULL_STALL_TIMEOUT = declare({
  name: "OLLMLX_PULL_STALL_TIMEOUT",
  default: "`30s`",
  doc: "a pull drops a connection that sends nothing for this long (Go duration or seconds)",
  parse: timeoutMs(30_000),
});

export const OLLMLX_PULL_RETRIES = declare({
  name: "OLLMLX_PULL_RETRIES",
  default: "`3`",
  doc: "how often a pull resumes a download the network broke before failing (0: never)",
  parse: (raw) => {
    const n = Number(raw || NaN);
    return Number.isInteger(n) && n >= 0 ? n : 3;
  },
});

// --- the runner: MLX and the CPU

export const OLLMLX_SHIM = declare({
  name: "OLLMLX_SHIM",
  default: "`build/libmlxs.so`, or beside the binary",
  doc: "path of the native shim to load",
  parse: optionalText,
});

export const OLLMLX_MLX_LIB = declare({
  name: "OLLMLX_MLX_LIB",
  default: "beside the shim (`dist/mlx/lib`)",
  doc: "a folder holding `libmlx.so` to use instead (e.g. an mlx-cpu wheel's `mlx/lib`)",
  parse: optionalText,
});

export const OLLMLX_BLAS = declare({
  name: "OLLMLX_BLAS",
  default: "OpenBLAS if installed",
  doc: "the BLAS runners preload on Linux (a path, or `none`)",
  parse: (raw): string | "none" | undefined => raw || undefined,
});

export const OLLMLX_BLAS_PRELOADED = declare({
  name: "OLLMLX_BLAS_PRELOADED",
  default: "unset",
  doc: "the BLAS the server preloaded into this runner (LD_PRELOAD)",
  internal: true,
  parse: optionalText,
});

export const OLLMLX_PREFIX_CACHE_BYTES = declare({
  name: "OLLMLX_PREFIX_CACHE_BYTES",
  default: "RAM/16, at most `2GiB`",
  doc: "KV state each runner keeps for later requests (bytes, or `512MiB`, `2GB`; `0` turns the prefix cache off)",
  // per loaded model: OLLAMA_MAX_LOADED_MODELS of 3 keep at most about a fifth of RAM this way
  parse: (raw) => (raw ? byteCount("OLLMLX_PREFIX_CACHE_BYTES", raw) : Math.min(2 * 1024 ** 3, Math.floor(totalmem() / 16))),
});

/** The shim's kernel sets by name (ffi's CpuKernels without "mlx"; kept here so that config imports nothing of ffi). */
const KERNEL_SETS = ["baseline", "avx2", "avx512", "avx512_vnni"] as const;
type CpuKernels = (typeof KERNEL_SETS)[number] | "mlx";

export const OLLMLX_CPU_KERNELS = declare({
  name: "OLLMLX_CPU_KERNELS",
  default: "`shim`",
  doc:
    "what runs quantized layers on the CPU: `shim`, the shim's own kernels at the best instruction set the CPU has " +
    "(AVX-512 with VNNI, AVX-512, AVX2, or the baseline SSE2/NEON); a set by name (`avx512_vnni`, `avx512`, `avx2`, " +
    "`baseline`); or `mlx` for MLX's own ops (the reference path; for comparisons, or if you hit a bug)",
  parse: (raw): CpuKernels | "best" => {
    const v = raw.toLowerCase();
    if (v === "" || v === "shim") return "best";
    if (v === "mlx" || (KERNEL_SETS as readonly string[]).includes(v)) return v as CpuKernels;
    throw new Error(`OLLMLX_CPU_KERNELS must be "shim", "mlx" or one of ${KERNEL_SETS.join(", ")}, not "${raw}"`);
  },
});

export const OLLMLX_CPU_THREADS = declare({
  name: "OLLMLX_CPU_THREADS",
  default: "every core",
  doc: "threads the shim's CPU kernels use, the runner's own included",
  parse: (raw): number | undefined => {
    if (!raw) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`OLLMLX_CPU_THREADS must be a positive integer, not "${raw}"`);
    return n;
  },
});

export const OLLMLX_CPU_SPIN_US = declare({
  name: "OLLMLX_CPU_SPIN_US",
  default: "`100`",
  doc: "microseconds an idle kernel thread spins for the next matrix product before it sleeps (longer: steadier decode steps; shorter: more of the cores left to the server and its clients)",
  parse: (raw): number => {
    if (!raw) return 100;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`OLLMLX_CPU_SPIN_US must be a whole number of microseconds, not "${raw}"`);
    return n;
  },
});

export const OLLMLX_CPU_ACTIVATIONS = declare({
  name: "OLLMLX_CPU_ACTIVATIONS",
  default: "`float`",
  doc:
    "which quantized layers round their input to int8 on the CPU kernels (blocks of 32, as llama.cpp does; x86-64 " +
    "with AVX2; faster decoding): `float`, none (the default: on SmolLM2-135M the rounding turned some greedy answers " +
    "into others, a list of Paris's landmarks for the capital of France); `auto`, GGUF models' layers (as llama.cpp " +
    "computes them); `int8`, every 4-bit layer (8-bit ones, such as MoE routers, keep float)",
  parse: (raw): "per-layer" | "float" | "int8" => {
    const v = raw.toLowerCase();
    if (v === "auto") return "per-layer";
    if (v === "") return "float";
    if (v === "float" || v === "int8") return v;
    throw new Error(`OLLMLX_CPU_ACTIVATIONS must be "auto", "float" or "int8", not "${raw}"`);
  },
});

export const OLLMLX_CPU_DEQUANTIZE = declare({
  name: "OLLMLX_CPU_DEQUANTIZE",
  default: "auto",
  doc:
    "`1`/`0`: force or forbid running quantized layers as float32 matrices on the CPU (auto: only with " +
    "`OLLMLX_CPU_KERNELS=mlx` and a preloaded BLAS)",
  parse: (raw): boolean | "auto" => (raw === "1" ? true : raw === "0" ? false : "auto"),
});

// --- the CLI, the scripts, the tests

export const OLLAMA_NOHISTORY = declare({
  name: "OLLAMA_NOHISTORY",
  default: "unset",
  doc: "don't save the interactive session's history (`~/.ollmlx/history`)",
  help: "Do not preserve readline history",
  parse: goBool,
});

export const OLLMLX_SKIP_DEFAULT_MODEL = declare({
  name: "OLLMLX_SKIP_DEFAULT_MODEL",
  default: "unset",
  doc: "`scripts/setup.sh` does not import `smollm2:135m`",
  parse: (raw) => raw !== "", // read by scripts/setup.sh: set to anything skips
});

export const OLLMLX_VERSION_OVERRIDE = declare({
  name: "OLLMLX_VERSION_OVERRIDE",
  default: "unset",
  doc: "the version the binary reports instead of package.json's (tests of version mismatches)",
  internal: true,
  parse: optionalText,
});

/** `--help`'s "Environment Variables:" rows, under Ollama's names (an OLLMLX_ setting's alias) and Ollama's lines. */
export function helpRows(...settings: Setting<unknown>[]): [name: string, description: string][] {
  return settings.map((s) => [s.alias ?? s.name, s.help ?? s.doc]);
}
