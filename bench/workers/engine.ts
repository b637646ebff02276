#!/usr/bin/env bun
// Worker: ollmlx's engine called in-process (src/engine/completion.ts), one model, every workload, in its own
// process so that its peak RSS is its own. Loads the model the way a runner would on this machine.
//   bun bench/workers/engine.ts MODEL_PATH mlx|gguf PROMPTS_JSON GEN REPS BUDGET_S   → one JSON line (WorkerReport)
// Warm-up (excluded): one generation before the first workload. A workload stops after BUDGET_S seconds of
// samples (at least one), so that a slow system cannot stretch the run past its time limit.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { complete, loadGgufModel, loadMlxModel, type LoadedModel } from "../../src/engine/completion.ts";
import { shouldDequantizeOnCpu } from "../../src/engine/cpu-backend.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import { device, memory } from "../../src/ffi/index.ts";
import { peakRssMiB } from "../lib/proc.ts";
import type { Sample, WorkerReport } from "../lib/types.ts";
import { tagged, type Workload } from "../lib/workloads.ts";
import { reexecWithRunnerBlas } from "../lib/blas.ts";

reexecWithRunnerBlas();

const [path, format, promptsFile, genArg, repsArg, budgetArg] = process.argv.slice(2);
if (!path || (format !== "mlx" && format !== "gguf") || !promptsFile) throw new Error("usage: engine.ts MODEL mlx|gguf PROMPTS_JSON GEN REPS");
const prompts = JSON.parse(readFileSync(promptsFile, "utf8")) as Workload[];
const nGen = Number(genArg);
const reps = Number(repsArg);
const budgetMs = Number(budgetArg ?? Infinity) * 1000;
// The warm-up needs a prefill and a few decode steps, not a full generation (it would double a slow peer's time).
const WARMUP_TOKENS = 16;

// serve-model.ts: a 4-bit weight is half a byte a parameter, so bytes × 2 over-estimates parameters.
const bytes = format === "gguf" ? statSync(path).size : readdirSync(path).filter((f) => f.endsWith(".safetensors")).reduce((n, f) => n + statSync(join(path, f)).size, 0);
const dequantize = shouldDequantizeOnCpu(bytes * 2, device.defaultDevice());
const t0 = performance.now();
const lm: LoadedModel = format === "gguf" ? loadGgufModel("bench", path, { dequantize }) : await loadMlxModel("bench", path, { dequantize });
const loadS = (performance.now() - t0) / 1000;

// The engine's own prefill chunking (generate.ts), as a runner uses it: what a user of ollmlx gets.
async function once(text: string, maxTokens = nGen): Promise<Sample> {
  const start = performance.now();
  const tokens = lm.tokenizer.encodePrompt(text);
  let first = 0;
  const run = complete(lm, tokens, { ...GREEDY, maxTokens, numCtx: 1 << 20, stop: [] }, { cancelled: () => false, yieldToLoop: async () => {} });
  while (true) {
    const r = await run.next();
    if (r.done) {
      const s = r.value;
      return { promptTokens: s.promptTokens, genTokens: s.generatedTokens, ttftMs: first - start, promptTps: s.promptTokens / (s.promptNs / 1e9), genTps: s.generatedTokens / (s.generateNs / 1e9) };
    }
    if (first === 0 && r.value.token >= 0) first = performance.now();
  }
}

const report: WorkerReport = { loadS, rssPeakMiB: 0, workloads: {} };
let mlxPeak = 0;
try {
  await once(tagged(prompts[0]!.text, 99), WARMUP_TOKENS); // warm-up, excluded: MLX's compile caches, first allocations
  for (const w of prompts) {
    const samples: Sample[] = [];
    const started = performance.now();
    for (let i = 0; i < reps && (i === 0 || performance.now() - started < budgetMs); i++) {
      samples.push(await once(tagged(w.text, i)));
      mlxPeak = Math.max(mlxPeak, memory.peak()); // complete() resets the peak at each call
    }
    report.workloads[w.name] = samples;
  }
  report.mlxActiveMiB = memory.active() / 2 ** 20;
  report.mlxPeakMiB = mlxPeak / 2 ** 20;
} finally {
  lm[Symbol.dispose]();
}
report.rssPeakMiB = peakRssMiB("self");
console.log(JSON.stringify(report));
