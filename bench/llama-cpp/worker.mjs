// Worker: llama.cpp through node-llama-cpp's prebuilt binaries, run with Node, on one GGUF file; the same report
// as bench/workers/engine.ts (bench/lib/types.ts: WorkerReport) as one JSON line. Greedy; a fresh context per
// sample so no KV cache is reused.
//   node worker.mjs FILE PROMPTS_JSON GEN REPS BUDGET_S THREADS cpu|cuda
// Warm-up (excluded) and the per-workload time budget as in bench/workers/engine.ts.
import { readFileSync } from "node:fs";
import { getLlama } from "node-llama-cpp";

const [file, promptsFile, nGen, reps, budgetS, threads, device] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6]), Number(process.argv[7]), process.argv[8] ?? "cpu"];
const prompts = JSON.parse(readFileSync(promptsFile, "utf8"));
const llama = await getLlama({ gpu: device === "cuda" ? "cuda" : false, build: "never" });
const t0 = performance.now();
const model = await llama.loadModel({ modelPath: file });
const loadS = (performance.now() - t0) / 1000;
const tagged = (text, rep) => `Story ${rep + 1}. ${text}`; // bench/lib/workloads.ts: tagged()

async function once(text, maxTokens = nGen) {
  const start = performance.now();
  const tokens = model.tokenize(text, true);
  // A raw sequence gets no BOS of its own: prepend it where the model's metadata asks for one, as llama.cpp's CLI does.
  const bos = model.tokens.bos;
  const withBos = bos != null && model.tokens.shouldPrependBosToken && tokens[0] !== bos ? [bos, ...tokens] : tokens;
  const ctx = await model.createContext({ contextSize: withBos.length + maxTokens + 16, threads, batchSize: 2048 });
  const seq = ctx.getSequence();
  const t = performance.now();
  let first = 0;
  let n = 0;
  for await (const token of seq.evaluate(withBos, { temperature: 0 })) {
    if (n === 0) first = performance.now();
    n++;
    if (n >= maxTokens || model.isEogToken(token)) break;
  }
  const end = performance.now();
  await ctx.dispose();
  return { promptTokens: withBos.length, genTokens: n, ttftMs: first - start, promptTps: withBos.length / ((first - t) / 1000), genTps: n / ((end - first) / 1000) };
}

const workloads = {};
await once(tagged(prompts[0].text, 99), 16); // warm-up, excluded (a prefill and a few steps, as engine.ts)
for (const w of prompts) {
  const samples = [];
  const started = performance.now();
  for (let i = 0; i < reps && (i === 0 || performance.now() - started < budgetS * 1000); i++) samples.push(await once(tagged(w.text, i)));
  workloads[w.name] = samples;
}
console.log(JSON.stringify({ loadS, rssPeakMiB: process.resourceUsage().maxRSS / 1024, workloads }));
