#!/usr/bin/env bun
// Worker for bench/api.ts: the engine called in-process (src/engine/completion.ts), loaded the way a runner loads
// the model on this machine. It loads and warms up once, prints "ready", then for each line N on stdin runs N
// completions back to back and prints their samples as one JSON line (TtftSample[]).
//   bun bench/workers/api-engine.ts MODEL.gguf GEN NUM_CTX PROMPT
import { statSync } from "node:fs";
import { complete, loadGgufModel } from "../../src/engine/completion.ts";
import { shouldDequantizeOnCpu } from "../../src/engine/cpu-backend.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import { reexecWithRunnerBlas } from "../lib/blas.ts";
import { rateAfterFirst, type TtftSample } from "../lib/ttft.ts";

reexecWithRunnerBlas();

const [file, genArg, numCtxArg, prompt] = process.argv.slice(2);
if (!file || !genArg || !numCtxArg || prompt === undefined) throw new Error("usage: api-engine.ts MODEL.gguf GEN NUM_CTX PROMPT");
const nGen = Number(genArg);
const numCtx = Number(numCtxArg);
// serve-model.ts: a 4-bit weight is half a byte a parameter, so bytes × 2 over-estimates parameters.
const lm = loadGgufModel("bench", file, { dequantize: shouldDequantizeOnCpu(statSync(file).size * 2, "cpu") });

async function once(): Promise<TtftSample> {
  const t0 = performance.now();
  const tokens = lm.tokenizer.encodePrompt(prompt!);
  const times: number[] = [];
  const run = complete(lm, tokens, { ...GREEDY, maxTokens: nGen, numCtx, stop: [] }, { cancelled: () => false, yieldToLoop: async () => {} });
  while (true) {
    const r = await run.next();
    if (r.done) {
      const s = r.value;
      return { ttftMs: times[0]! - t0, loopTtftMs: s.promptNs / 1e6, genTps: rateAfterFirst(times, s.generatedTokens), tokens: s.generatedTokens };
    }
    if (r.value.text !== "") times.push(performance.now());
  }
}

try {
  for (let i = 0; i < 3; i++) await once(); // warm-up: JIT, MLX's first allocations, BLAS threads
  console.log("ready");
  for await (const line of console) {
    const n = Number(line.trim());
    if (!Number.isInteger(n) || n <= 0) break;
    const samples: TtftSample[] = [];
    for (let i = 0; i < n; i++) samples.push(await once());
    console.log(JSON.stringify(samples));
  }
} finally {
  lm[Symbol.dispose]();
}
