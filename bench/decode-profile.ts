#!/usr/bin/env bun
// Decode alone, for a profiler: loads a GGUF as a runner does, prefills a short prompt, generates --gen tokens
// greedily with --rows sequences stepping together (the runner's decode batch), prints ms per step.
//   perf record -e cpu-clock -F 1000 -g -- bun bench/decode-profile.ts [--model smollm2|gemma3|PATH] [--gen 200] [--rows 1]
import { join } from "node:path";
import { parseArgs } from "node:util";
import { complete, loadGgufModel } from "../src/engine/completion.ts";
import { DecodeBatch } from "../src/engine/decode-batch.ts";
import { GREEDY } from "../src/engine/sampler.ts";
import { reexecWithRunnerBlas } from "./lib/blas.ts";

reexecWithRunnerBlas();
const { values } = parseArgs({ options: { model: { type: "string", default: "smollm2" }, gen: { type: "string", default: "200" }, rows: { type: "string", default: "1" } } });
const root = join(import.meta.dir, "..");
const known: Record<string, string> = {
  smollm2: join(root, ".deps/models/smollm2-135m-instruct-q4_1.gguf"),
  gemma3: join(root, ".deps/models/gemma-3-270m-q4_k_m.gguf"),
};
const lm = loadGgufModel("bench", known[values.model!] ?? values.model!, { dequantize: false });
const rows = Number(values.rows);
const gen = Number(values.gen);
const batch = new DecodeBatch(lm.model);
const ctl = { cancelled: () => false, yieldToLoop: async () => {} };
const runs = Array.from({ length: rows }, (_, i) => {
  const prompt = Array.from({ length: 32 }, (_, j) => ((j * 7919 + i * 131) % 4900) + 50);
  return complete(lm, prompt, { ...GREEDY, maxTokens: gen, numCtx: 4096, stop: [], batch }, ctl);
});
const stats = await Promise.all(runs.map(async (run) => {
  while (true) {
    const r = await run.next();
    if (r.done) return r.value;
  }
}));
const genS = Math.max(...stats.map((s) => s.generateNs)) / 1e9;
const tokens = stats.reduce((n, s) => n + s.generatedTokens, 0);
console.log(`${rows} row(s): ${tokens} tokens in ${genS.toFixed(2)} s: ${(tokens / genS).toFixed(1)} tok/s aggregate, ${(genS * 1000 / (tokens / rows)).toFixed(1)} ms a step (${batch.steps} steps, ${batch.sharedSteps} on a shared cache, ${batch.rows} rows)`);
lm[Symbol.dispose]();
