#!/usr/bin/env bun
// The side-by-side benchmark, one command, one machine, one run: ollmlx (engine in-process, and `ollmlx serve`
// over HTTP) against mlx-lm (Python API, and mlx_lm.server) on the same MLX 4-bit directory, and against
// llama.cpp (node-llama-cpp) on the same GGUF file; SmolLM2-135M and Gemma 3 270M; a short and a long prompt.
//
//   bun bench/run.ts MODE [its options]: the other benchmarks (bench/modes.ts; `bun bench/run.ts list`)
//   bun bench/run.ts [--smoke] [--device cpu|cuda] [--out bench/results] [--reps 3] [--gen 128] [--budget 30]
//                    [--concurrency 1,2,4,8] [--conc-gen 32] [--systems a,b,...] [--server-long] [--readme]
//
// Writes OUT/<date>-<device>.md (tables, ratios ollmlx/peer), .json and .png (chart). --readme then refreshes
// README.md's table from it (bench/readme.ts). --budget caps each system's samples of one workload, in seconds
// (at least one sample always runs): MLX's CPU quantized kernels make mlx-lm's long prompt slow on a CPU.
// The servers run the short prompt (single client, then the concurrency sweep); --server-long adds the long one
// (the in-process rows already compare it on the same kernels, and mlx_lm.server's would add minutes on a CPU).
// --device cuda: the same run on a CUDA machine (mlx-cuda); OLLMLX_BENCH_ORACLE may name a PYTHONPATH whose mlx
// has CUDA. Untested: this project's machines have no GPU.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runnerEnv } from "../src/engine/cpu-backend.ts";
import { benchModels, BENCH_DIR, ensureLlamaCpp, ensureMlx4bit, oraclePythonPath, PLOT_PYTHONPATH, ROOT, type BenchModel } from "./lib/models.ts";
import { concurrencyRows, failedRows, serverReport, singleRows } from "./lib/measure.ts";
import { runWorker } from "./lib/proc.ts";
import { markdownReport } from "./lib/report.ts";
import { startMlxLmServer, startOllmlx, type RunningServer } from "./lib/servers.ts";
import { SYSTEM_LABELS, type BenchResults, type ConcurrencyRow, type SingleRow, type SystemId, type WorkerReport } from "./lib/types.ts";
import { workloads } from "./lib/workloads.ts";
import { updateReadme } from "./readme.ts";
import { MODES } from "./modes.ts";

// `bun bench/run.ts MODE [options]`: another benchmark (bench/modes.ts); `list` names them. Without a mode, this one.
const mode = process.argv[2];
if (mode !== undefined && !mode.startsWith("-")) {
  if (!(mode in MODES)) {
    const width = Math.max(...Object.keys(MODES).map((m) => m.length));
    console.log(["bun bench/run.ts [options]    the side-by-side benchmark (this file's header)", ...Object.entries(MODES).map(([m, what]) => `bun bench/run.ts ${m.padEnd(width)}  ${what}`)].join("\n"));
    process.exit(mode === "list" ? 0 : 2);
  }
  const child = Bun.spawnSync([process.execPath, join(import.meta.dir, `${mode}.ts`), ...process.argv.slice(3)], { stdio: ["inherit", "inherit", "inherit"] });
  process.exit(child.exitCode ?? 1);
}

const { values: args } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    device: { type: "string", default: "cpu" },
    out: { type: "string", default: join(BENCH_DIR, "results") },
    reps: { type: "string" },
    gen: { type: "string" },
    budget: { type: "string" },
    concurrency: { type: "string" },
    "conc-gen": { type: "string" },
    systems: { type: "string" },
    readme: { type: "boolean", default: false },
    "server-long": { type: "boolean", default: false },
  },
});
if (args.device !== "cpu" && args.device !== "cuda") throw new Error("--device is cpu or cuda");
const device = args.device;
const smoke = args.smoke!;
const reps = Number(args.reps ?? (smoke ? 1 : 3));
const gen = Number(args.gen ?? (smoke ? 8 : 128));
const budgetS = Number(args.budget ?? (smoke ? 1 : 30));
const levels = (args.concurrency ?? (smoke ? "1,2" : "1,2,4,8")).split(",").map(Number);
const concGen = Number(args["conc-gen"] ?? (smoke ? 8 : 32));
const wanted = new Set((args.systems ?? "ollmlx-engine,mlx-lm,ollmlx-engine-gguf,llama.cpp,ollmlx-http,mlx_lm.server").split(","));
const python = process.env.PYTHON ?? "python3";
const oracle = process.env.OLLMLX_BENCH_ORACLE ?? oraclePythonPath();
const NUM_CTX = 4096;
const workerTimeoutMs = (smoke ? 5 : 20) * 60_000;

const started = performance.now();
const log = (msg: string) => console.error(`bench [${((performance.now() - started) / 1000).toFixed(0)} s] ${msg}`);
const models = benchModels(smoke, device === "cuda" ? "bfloat16" : "float32");
const prompts = workloads(smoke);
const serverPrompts = args["server-long"] ? prompts : prompts.slice(0, 1);
const scratch = mkdtempSync(join(tmpdir(), "ollmlx-bench-"));
const promptsFile = join(scratch, "prompts.json");
writeFileSync(promptsFile, JSON.stringify(prompts));
// Every process gets the BLAS an ollmlx runner would preload (cpu-backend.ts): the peers' float matmuls too.
const env = { ...runnerEnv(), PYTHONPATH: oracle };
const single: SingleRow[] = [];
const concurrency: ConcurrencyRow[] = [];

async function worker(system: SystemId, m: BenchModel, cmd: string[]): Promise<void> {
  if (!wanted.has(system)) return;
  log(`${system} on ${m.name}`);
  try {
    single.push(...singleRows(system, m.name, prompts, await runWorker<WorkerReport>(cmd, env, workerTimeoutMs)));
  } catch (e) {
    log(`${system} on ${m.name} failed: ${e}`);
    single.push(...failedRows(system, m.name, prompts, e));
  }
}

async function server(system: SystemId, m: BenchModel, start: () => Promise<RunningServer>, withConcurrency: boolean): Promise<void> {
  if (!wanted.has(system)) return;
  log(`${system} on ${m.name}`);
  const t0 = performance.now();
  let s: RunningServer | null = null;
  try {
    s = await start();
    single.push(...singleRows(system, m.name, serverPrompts, await serverReport(s, t0, serverPrompts, gen, reps, budgetS)));
    if (withConcurrency) concurrency.push(...(await concurrencyRows(system, m.name, s, prompts[0]!.text, concGen, levels)));
  } catch (e) {
    log(`${system} on ${m.name} failed: ${e}`);
    single.push(...failedRows(system, m.name, serverPrompts, e));
  } finally {
    await s?.stop();
  }
}

try {
  if (wanted.has("llama.cpp")) ensureLlamaCpp(device === "cuda");
  for (const m of models) ensureMlx4bit(m, python, oracle);
  const bun = process.execPath;
  const common = [promptsFile, String(gen), String(reps), String(budgetS)];
  for (const [i, m] of models.entries()) {
    await worker("ollmlx-engine", m, [bun, join(BENCH_DIR, "workers/engine.ts"), m.mlxDir, "mlx", ...common]);
    await worker("mlx-lm", m, [python, join(BENCH_DIR, "workers/mlx_lm_worker.py"), m.mlxDir, ...common]);
    await worker("ollmlx-engine-gguf", m, [bun, join(BENCH_DIR, "workers/engine.ts"), m.gguf, "gguf", ...common]);
    await worker("llama.cpp", m, ["node", join(BENCH_DIR, "llama-cpp/worker.mjs"), m.gguf, ...common, String(cpus().length), device]);
    // Concurrency on the first (smallest) model only: the sweep is the longest part of the run.
    await server("ollmlx-http", m, () => startOllmlx(m.mlxDir, NUM_CTX, env), i === 0);
    await server("mlx_lm.server", m, () => startMlxLmServer(m.mlxDir, python, env), i === 0);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const date = new Date().toISOString().slice(0, 10);
const results: BenchResults = {
  date,
  device,
  machine: `${process.platform}-${process.arch}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
  smoke,
  genTokens: gen,
  reps,
  models: models.map((m) => ({ name: m.name, gguf: m.gguf.replace(`${ROOT}/`, ""), mlxDir: m.mlxDir.replace(`${ROOT}/`, "") })),
  workloads: prompts.map((w) => ({ name: w.name, chars: w.text.length })),
  systemLabels: SYSTEM_LABELS,
  single,
  concurrency,
  durationS: (performance.now() - started) / 1000,
};
mkdirSync(args.out!, { recursive: true });
const base = join(args.out!, `${date}-${device}${smoke ? "-smoke" : ""}`);
writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
const chart = Bun.spawnSync([python, join(BENCH_DIR, "chart.py"), `${base}.json`, `${base}.png`], { env: { ...process.env, PYTHONPATH: PLOT_PYTHONPATH }, stderr: "pipe" });
if (chart.exitCode !== 0) log(`chart failed (run scripts/setup.sh --oracle for matplotlib): ${chart.stderr.toString().trim().split("\n").pop()}`);
writeFileSync(`${base}.md`, markdownReport(results, chart.exitCode === 0 ? `${date}-${device}${smoke ? "-smoke" : ""}.png` : null));
log(`wrote ${base}.md, .json${chart.exitCode === 0 ? ", .png" : ""}`);
if (args.readme) updateReadme(`${base}.json`);
