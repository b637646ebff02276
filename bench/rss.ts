// Peak resident memory (VmHWM) of the engine against llama.cpp's on the same GGUF: each in a fresh process that
// loads the file, prefills a prompt and generates, as a runner does (ours under the runners' environment: the
// preloaded OpenBLAS, the default CPU kernels); llama.cpp through node-llama-cpp in Node. Both figures include the
// JS runtime's own baseline (Bun's, Node's), measured alone and shown beside them.
//   bun bench/rss.ts [--model smollm2|gemma3|PATH] [--prompt 256] [--gen 64]
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runnerEnv } from "../src/engine/cpu-backend.ts";
import { peakRssMiB } from "./lib/proc.ts";

const { values } = parseArgs({
  options: { model: { type: "string", default: "smollm2" }, prompt: { type: "string", default: "256" }, gen: { type: "string", default: "64" }, child: { type: "string" } },
});
const root = join(import.meta.dir, "..");
const known: Record<string, string> = {
  smollm2: join(root, ".deps/models/smollm2-135m-instruct-q4_1.gguf"),
  gemma3: join(root, ".deps/models/gemma-3-270m-q4_k_m.gguf"),
};
const file = known[values.model!] ?? values.model!;
const [nPrompt, nGen] = [Number(values.prompt), Number(values.gen)];


if (values.child === "engine") {
  const { complete, loadGgufModel } = await import("../src/engine/completion.ts");
  const { GREEDY } = await import("../src/engine/sampler.ts");
  const lm = loadGgufModel("rss", file);
  const loaded = peakRssMiB("self");
  const prompt = Array.from({ length: nPrompt }, (_, i) => ((i * 7919) % 4900) + 50);
  const run = complete(lm, prompt, { ...GREEDY, maxTokens: nGen, numCtx: 1 << 20, stop: [], prefillStepSize: 2048 }, { cancelled: () => false, yieldToLoop: async () => {} });
  while (!(await run.next()).done);
  console.log(JSON.stringify({ peak_mib: peakRssMiB("self"), loaded_mib: loaded }));
  process.exit(0);
}
if (values.child === "baseline") {
  console.log(JSON.stringify({ peak_mib: peakRssMiB("self") }));
  process.exit(0);
}

const json = (cmd: string[], env?: Record<string, string | undefined>) => {
  const r = Bun.spawnSync(cmd, { env, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString().trim().split("\n").pop()!) as { peak_mib: number; loaded_mib?: number };
};
const self = [process.execPath, import.meta.path, "--model", file, "--prompt", String(nPrompt), "--gen", String(nGen)];
const ours = json([...self, "--child", "engine"], runnerEnv());
const bunBase = json([...self, "--child", "baseline"], runnerEnv());
const peer = json(["node", join(import.meta.dir, "llama-cpp/peer.mjs"), file, String(nPrompt), String(nGen), "2", "--rss"]);
const nodeBase = json(["node", "-e", "console.log(JSON.stringify({ peak_mib: Number(require('fs').readFileSync('/proc/self/status','utf8').match(/VmHWM:\\s+(\\d+)/)[1]) / 1024 }))"]);
const f = (n: number) => `${n.toFixed(0)} MiB`;
console.log(`${values.model}: peak RSS, prompt ${nPrompt}, generate ${nGen} (file ${f(Bun.file(file).size / 2 ** 20)})`);
console.log(`| engine | peak RSS | of which by the end of loading | runtime alone | ratio to llama.cpp |\n|---|---|---|---|---|`);
console.log(`| ollmlx (runner's environment) | ${f(ours.peak_mib)} | ${f(ours.loaded_mib!)} | ${f(bunBase.peak_mib)} (Bun) | ${(ours.peak_mib / peer.peak_mib).toFixed(2)}× |`);
console.log(`| llama.cpp (node-llama-cpp) | ${f(peer.peak_mib)} | | ${f(nodeBase.peak_mib)} (Node) | 1.00× |`);
