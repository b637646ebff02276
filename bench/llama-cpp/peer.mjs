// The llama.cpp peer (node-llama-cpp's prebuilt CPU binaries), run with Node: load time, prompt tokens/s
// (prompt tokens / time to the first generated token) and generation tokens/s, greedy, on one GGUF file.
//   node peer.mjs FILE PROMPT_TOKENS GEN_TOKENS THREADS
import { getLlama } from "node-llama-cpp";

const [file, nPrompt, nGen, threads] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const llama = await getLlama({ gpu: false, build: "never" });
let t = performance.now();
const model = await llama.loadModel({ modelPath: file });
const loadS = (performance.now() - t) / 1000;
const ctx = await model.createContext({ contextSize: nPrompt + nGen + 16, threads, batchSize: 2048 });
const seq = ctx.getSequence();
const prompt = Array.from({ length: nPrompt }, (_, i) => ((i * 7919) % 4900) + 50);
t = performance.now();
let first = 0;
let n = 0;
for await (const _token of seq.evaluate(prompt, { temperature: 0 })) {
  if (n === 0) first = performance.now();
  if (++n >= nGen) break;
}
const end = performance.now();
// VmHWM: this process's peak resident memory (bench/rss.ts)
const peak = Number((await import("node:fs")).readFileSync("/proc/self/status", "utf8").match(/VmHWM:\s+(\d+)/)[1]) / 1024;
console.log(JSON.stringify({ load_s: loadS, prompt_tps: nPrompt / ((first - t) / 1000), generation_tps: n / ((end - first) / 1000), generation_tokens: n, peak_mib: peak }));
