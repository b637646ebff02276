#!/usr/bin/env bun
// ollmlx's engine vs mlx-lm (same MLX version, same model directory, same machine, one run).
//   bun bench/engine.ts [--prompt 512] [--gen 128] [--runs 3] [--bits 4]
// Prints prompt and generation tokens/s for both, and the ratios ollmlx / mlx-lm; writes bench/results/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { complete, loadMlxModel } from "../src/engine/completion.ts";
import { GREEDY } from "../src/engine/sampler.ts";

const { values } = parseArgs({
  options: {
    prompt: { type: "string", default: "512" },
    gen: { type: "string", default: "128" },
    runs: { type: "string", default: "3" },
    bits: { type: "string", default: "4" },
  },
});
const nPrompt = Number(values.prompt);
const nGen = Number(values.gen);
const runs = Number(values.runs);
const root = join(import.meta.dir, "..");
const oracle = readFileSync(join(root, ".deps/oracle-path"), "utf8").trim();
const modelDir = join(import.meta.dir, ".cache", `smollm2-shape-${values.bits}bit`);
const py = (args: string[]) => {
  const r = Bun.spawnSync(["python3", ...args], { env: { ...process.env, PYTHONPATH: oracle }, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`python3 ${args[0]} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
};

if (!existsSync(join(modelDir, "config.json"))) {
  const tok = join(import.meta.dir, ".cache", "tokenizer");
  mkdirSync(tok, { recursive: true });
  const gz = join(root, "test/formats/tokenizer-fixtures/qwen3-mini");
  writeFileSync(join(tok, "tokenizer.json"), Bun.gunzipSync(readFileSync(join(gz, "tokenizer.json.gz"))));
  writeFileSync(join(tok, "tokenizer_config.json"), readFileSync(join(gz, "tokenizer_config.json")));
  console.error(`building ${modelDir} with mlx-lm ...`);
  py([join(import.meta.dir, "make_bench_model.py"), modelDir, tok, values.bits!]);
}

const vocab = 5000;
const prompt = Array.from({ length: nPrompt }, (_, i) => ((i * 7919) % (vocab - 100)) + 50);

interface Sample {
  promptTps: number;
  genTps: number;
  genTokens: number;
}

async function ours(): Promise<Sample> {
  const lm = await loadMlxModel("bench", modelDir);
  try {
    const run = complete(lm, prompt, { ...GREEDY, maxTokens: nGen, numCtx: 1 << 20, stop: [], prefillStepSize: 2048 }, {
      cancelled: () => false,
      yieldToLoop: async () => {},
    });
    while (true) {
      const r = await run.next();
      if (r.done) {
        const s = r.value;
        // mlx-lm's formulas: prompt tokens / time to first token; generated tokens / time after it.
        return { promptTps: s.promptTokens / (s.promptNs / 1e9), genTps: s.generatedTokens / (s.generateNs / 1e9), genTokens: s.generatedTokens };
      }
    }
  } finally {
    lm[Symbol.dispose]();
  }
}

function peer(): Sample {
  const out = JSON.parse(py([join(import.meta.dir, "mlx_lm_peer.py"), modelDir, String(nPrompt), String(nGen)]).trim().split("\n").pop()!);
  return { promptTps: out.prompt_tps, genTps: out.generation_tps, genTokens: out.generation_tokens };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const a: Sample[] = [];
const b: Sample[] = [];
await ours(); // warm-up: MLX's CPU compile cache
for (let i = 0; i < runs; i++) {
  a.push(await ours());
  b.push(peer());
}
const row = (name: string, s: Sample[]) => ({ name, promptTps: median(s.map((x) => x.promptTps)), genTps: median(s.map((x) => x.genTps)), genTokens: s[0]!.genTokens });
const r1 = row("ollmlx", a);
const r2 = row("mlx-lm", b);
const fmt = (n: number) => n.toFixed(1).padStart(10);
console.log(`model: SmolLM2-135M shape, ${values.bits}-bit, random weights; prompt ${nPrompt} tokens, generate ${nGen}; median of ${runs}`);
console.log(`${"engine".padEnd(10)}${"prompt t/s".padStart(12)}${"gen t/s".padStart(12)}`);
for (const r of [r1, r2]) console.log(`${r.name.padEnd(10)}  ${fmt(r.promptTps)}  ${fmt(r.genTps)}`);
console.log(`${"ratio".padEnd(10)}  ${fmt(r1.promptTps / r2.promptTps)}  ${fmt(r1.genTps / r2.genTps)}`);
mkdirSync(join(import.meta.dir, "results"), { recursive: true });
writeFileSync(
  join(import.meta.dir, "results", `engine-${new Date().toISOString().slice(0, 10)}.json`),
  JSON.stringify({ nPrompt, nGen, runs, bits: Number(values.bits), ollmlx: r1, mlxLm: r2, ratio: { prompt: r1.promptTps / r2.promptTps, gen: r1.genTps / r2.genTps } }, null, 2),
);
