#!/usr/bin/env bun
// ollmlx vs llama.cpp on the same GGUF file, same machine, one run: load time, prompt and generation tokens/s.
//   bun bench/gguf.ts [--model smollm2|gemma3|PATH] [--prompt 256] [--gen 64] [--runs 3]
// The peer is llama.cpp through node-llama-cpp's prebuilt CPU binaries, installed on first use into
// bench/llama-cpp/node_modules (npm; several hundred MB, which is why it is not a test dependency).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { complete, loadGgufModel } from "../src/engine/completion.ts";
import { GREEDY } from "../src/engine/sampler.ts";
import { shouldDequantizeOnCpu } from "../src/engine/cpu-backend.ts";
import { statSync } from "node:fs";
import { reexecWithRunnerBlas } from "./lib/blas.ts";
import { cpuKernels } from "../src/ffi/index.ts";

reexecWithRunnerBlas();

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "smollm2" },
    prompt: { type: "string", default: "256" },
    gen: { type: "string", default: "64" },
    runs: { type: "string", default: "3" },
  },
});
const root = join(import.meta.dir, "..");
const known: Record<string, string> = {
  smollm2: join(root, ".deps/models/smollm2-135m-instruct-q4_1.gguf"),
  gemma3: join(root, ".deps/models/gemma-3-270m-q4_k_m.gguf"),
};
const file = known[values.model!] ?? values.model!;
const nPrompt = Number(values.prompt);
const nGen = Number(values.gen);
const runs = Number(values.runs);
const peerDir = join(import.meta.dir, "llama-cpp");

if (!existsSync(join(peerDir, "node_modules/node-llama-cpp"))) {
  console.error("installing the llama.cpp peer (node-llama-cpp) into bench/llama-cpp ...");
  const r = Bun.spawnSync(["bash", join(peerDir, "install.sh")], { cwd: peerDir, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error("npm install of node-llama-cpp failed");
}

interface Sample {
  loadS: number;
  promptTps: number;
  genTps: number;
}

const prompt = Array.from({ length: nPrompt }, (_, i) => ((i * 7919) % 4900) + 50);

// The engine as a runner runs it ("shim": the shim's CPU kernels over the quantized weights, float activations),
// with GGUF's layers rounding their input to int8 as llama.cpp does ("int8": OLLMLX_CPU_ACTIVATIONS=auto, where the
// CPU has an int8 kernel), or as it ran before the kernels ("mlx": MLX's own ops, quantized layers dequantized to
// float32 for OpenBLAS's sgemm).
async function ours(kernels: "shim" | "int8" | "mlx"): Promise<Sample> {
  process.env.OLLMLX_CPU_KERNELS = kernels === "int8" ? "shim" : kernels;
  process.env.OLLMLX_CPU_ACTIVATIONS = kernels === "int8" ? "auto" : "float";
  const dequantize = shouldDequantizeOnCpu(statSync(file).size * 2, "cpu");
  const t0 = performance.now();
  const lm = loadGgufModel("bench", file, { dequantize });
  const loadS = (performance.now() - t0) / 1000;
  try {
    const run = complete(lm, prompt, { ...GREEDY, maxTokens: nGen, numCtx: 1 << 20, stop: [], prefillStepSize: 2048 }, { cancelled: () => false, yieldToLoop: async () => {} });
    while (true) {
      const r = await run.next();
      if (r.done) return { loadS, promptTps: r.value.promptTokens / (r.value.promptNs / 1e9), genTps: r.value.generatedTokens / (r.value.generateNs / 1e9) };
    }
  } finally {
    lm[Symbol.dispose]();
  }
}

function peer(): Sample {
  const r = Bun.spawnSync(["node", join(peerDir, "peer.mjs"), file, String(nPrompt), String(nGen), String(cpus().length)], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`llama.cpp peer failed: ${r.stderr.toString()}`);
  const o = JSON.parse(r.stdout.toString().trim().split("\n").pop()!);
  return { loadS: o.load_s, promptTps: o.prompt_tps, genTps: o.generation_tps };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const a: Sample[] = [];
const q: Sample[] = [];
const b: Sample[] = [];
const fl: Sample[] = [];
// int8 activations run where the CPU has an int8 kernel (x86-64 with AVX2); elsewhere the float row is the same
const int8 = process.arch === "x64" && (() => {
  try {
    return cpuKernels({ use: "avx2" }) === "avx2";
  } catch {
    return false;
  } finally {
    cpuKernels({ use: "best" });
  }
})();
await ours("shim");
for (let i = 0; i < runs; i++) {
  a.push(await ours("shim"));
  if (int8) fl.push(await ours("int8"));
  q.push(await ours("mlx"));
  b.push(peer());
}
const row = (s: Sample[]) => ({ loadS: median(s.map((x) => x.loadS)), promptTps: median(s.map((x) => x.promptTps)), genTps: median(s.map((x) => x.genTps)) });
const r1 = row(a);
const rq = row(q);
const rf = int8 ? row(fl) : null;
const r2 = row(b);
const f = (n: number, d = 1) => n.toFixed(d).padStart(10);
console.log(`${values.model}: prompt ${nPrompt} tokens, generate ${nGen}, greedy; median of ${runs}; ${cpus().length} CPU threads`);
console.log(`${"engine".padEnd(10)}${"load s".padStart(10)}${"prompt t/s".padStart(12)}${"gen t/s".padStart(10)}`);
console.log(`${"ollmlx".padEnd(10)}${f(r1.loadS, 2)}  ${f(r1.promptTps)}${f(r1.genTps)}   (runner default: the shim's CPU kernels, quantized weights, float activations)`);
if (rf) console.log(`${"ollmlx i8".padEnd(10)}${f(rf.loadS, 2)}  ${f(rf.promptTps)}${f(rf.genTps)}   (OLLMLX_CPU_ACTIVATIONS=auto: GGUF's layers round their input to int8, as llama.cpp)`);
console.log(`${"ollmlx mlx".padEnd(10)}${f(rq.loadS, 2)}  ${f(rq.promptTps)}${f(rq.genTps)}   (OLLMLX_CPU_KERNELS=mlx: MLX's ops, float32 weights through OpenBLAS)`);
console.log(`${"llama.cpp".padEnd(10)}${f(r2.loadS, 2)}  ${f(r2.promptTps)}${f(r2.genTps)}`);
console.log(`${"ratio".padEnd(10)}${f(r2.loadS / r1.loadS, 2)}  ${f(r1.promptTps / r2.promptTps, 2)}${f(r1.genTps / r2.genTps, 2)}   (ollmlx / llama.cpp; load: llama.cpp/ollmlx, so > 1 means ollmlx is faster)`);
mkdirSync(join(import.meta.dir, "results"), { recursive: true });
writeFileSync(
  join(import.meta.dir, "results", `gguf-${values.model}-${new Date().toISOString().slice(0, 10)}.json`),
  JSON.stringify({ file, nPrompt, nGen, runs, ollmlx: r1, ollmlxInt8Activations: rf, ollmlxMlxOps: rq, llamaCpp: r2 }, null, 2),
);
