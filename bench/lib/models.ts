// The benchmark's models, each in two forms: the GGUF file as shipped, and an MLX 4-bit directory made from it by
// ollmlx's own conversion (src/formats/gguf/convert.ts) then re-quantized as mlx-lm's convert -q would
// (bench/workers/requantize.py). Made once, cached under bench/.cache/ (git-ignored).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { convertGgufToMlx } from "../../src/formats/gguf/convert.ts";

export const BENCH_DIR = join(import.meta.dir, "..");
export const ROOT = join(BENCH_DIR, "..");

export interface BenchModel {
  name: string;
  dtype: "float32" | "bfloat16";
  gguf: string;
  mlxDir: string;
}

const ALL = [
  { name: "SmolLM2-135M", file: "smollm2-135m-instruct-q4_1.gguf" },
  { name: "Gemma3-270M", file: "gemma-3-270m-q4_k_m.gguf" },
];

/** float32 on the CPU, bfloat16 (mlx-community's choice) on a GPU: see bench/workers/requantize.py. */
export function benchModels(smoke: boolean, dtype: "float32" | "bfloat16"): BenchModel[] {
  const chosen = smoke ? ALL.slice(0, 1) : ALL;
  return chosen.map((m) => ({ name: m.name, dtype, gguf: join(ROOT, ".deps/models", m.file), mlxDir: join(BENCH_DIR, ".cache", `${m.name.toLowerCase()}-mlx-4bit-${dtype}`) }));
}

export function oraclePythonPath(): string {
  const file = join(ROOT, ".deps/oracle-path");
  if (!existsSync(file)) throw new Error("no .deps/oracle-path: run scripts/setup.sh --oracle");
  return readFileSync(file, "utf8").trim();
}

export function ensureMlx4bit(m: BenchModel, python: string, oracle: string): void {
  if (existsSync(join(m.mlxDir, "config.json"))) return;
  if (!existsSync(m.gguf)) throw new Error(`${m.gguf} is missing: run scripts/setup.sh --oracle`);
  const converted = `${m.mlxDir}.from-gguf`;
  const partial = `${m.mlxDir}.partial`;
  mkdirSync(join(BENCH_DIR, ".cache"), { recursive: true });
  console.error(`bench: ${m.name}: GGUF -> MLX (ollmlx convert) -> ${m.dtype} -> 4-bit group 64 (mlx-lm quantize_model)`);
  convertGgufToMlx(m.gguf, converted);
  rmSync(partial, { recursive: true, force: true });
  const r = Bun.spawnSync([python, join(BENCH_DIR, "workers/requantize.py"), converted, partial, m.dtype], { env: { ...process.env, PYTHONPATH: oracle }, stderr: "pipe", stdout: "pipe" });
  rmSync(converted, { recursive: true, force: true });
  if (r.exitCode !== 0) throw new Error(`requantize ${m.name} failed: ${r.stderr.toString().trim().split("\n").slice(-3).join(" | ")}`);
  renameSync(partial, m.mlxDir);
}

/** matplotlib for bench/chart.py, installed by scripts/setup.sh --oracle (keep the version in step with it). */
export const PLOT_PYTHONPATH = join(ROOT, ".deps", "plot-matplotlib-3.11.2");

/**
 * llama.cpp's peer: node-llama-cpp and this machine's prebuilt binary in bench/llama-cpp/ (install.sh; setup.sh
 * --oracle runs it, else here). With `cuda`, also its CUDA build.
 */
export function ensureLlamaCpp(cuda = false): void {
  const dir = join(BENCH_DIR, "llama-cpp");
  const modules = join(dir, "node_modules");
  if (existsSync(join(modules, "node-llama-cpp")) && (!cuda || existsSync(join(modules, "@node-llama-cpp/linux-x64-cuda")))) return;
  console.error("bench: installing the llama.cpp peer (node-llama-cpp) into bench/llama-cpp ...");
  const r = Bun.spawnSync(["bash", join(dir, "install.sh"), ...(cuda ? ["--cuda"] : [])], { cwd: dir, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error("installing node-llama-cpp failed (bench/llama-cpp/install.sh)");
}
