// llama.cpp's side of bench/embed.ts: every text of stdin's JSON list embedded by node-llama-cpp's embedding
// context, one after another; best of RUNS.   node embed.mjs FILE NODE_LLAMA_CPP_DIR RUNS  →  {"seconds": best}
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const { getLlama } = await import(pathToFileURL(join(process.argv[3], "dist", "index.js")).href);
const texts = JSON.parse(readFileSync(0, "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath: process.argv[2] });
const ctx = await model.createEmbeddingContext({ contextSize: 512, threads: 2 });
for (const t of texts.slice(0, 8)) await ctx.getEmbeddingFor(t);
let best = Infinity;
for (let r = 0; r < Number(process.argv[4]); r++) {
  const t0 = performance.now();
  for (const t of texts) await ctx.getEmbeddingFor(t);
  best = Math.min(best, (performance.now() - t0) / 1000);
}
await ctx.dispose();
await model.dispose();
console.log(JSON.stringify({ seconds: best }));
