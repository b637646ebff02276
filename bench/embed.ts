// Embeddings throughput (issue 16): 256 sentences of 16-128 tokens through `/api/embed` on `ollmlx serve` (a
// temporary store holding the all-minilm directory setup installs), against mlx-embeddings on the same
// sentence-transformers directory (its BERT, padded batches of 32 sorted by length, as ollmlx batches) and llama.cpp
// on the same model as an F16 GGUF (node-llama-cpp's embedding context, one text after another, as its API embeds).
// mlx-embeddings runs on the BLAS ollmlx's runners preload. Same run, best of --runs each, tokenization included.
//   bun bench/embed.ts [--runs 3] [--count 256]   (results: bench/results/embed-<date>.json)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { allMiniLmDir } from "../test/fixtures/all-minilm.ts";
import { allMiniLmGguf, MLX_EMBEDDINGS, nodeLlamaCppDir } from "../test/fixtures/encoders.ts";
import { oracleDep, oraclePath } from "../test/oracle.ts";
import { mlxConfigBlob } from "../src/store/pull-hf.ts";
import { startOllmlxServe } from "./lib/servers.ts";
import { runnerEnv } from "../src/engine/cpu-backend.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, count: { type: "string", default: "256" } } });
const runs = Number(values.runs);
const count = Number(values.count);

// Deterministic sentences of 12-100 words (about 16-128 WordPiece tokens with [CLS] and [SEP]).
const WORDS = "the a model runs on apple silicon and linux with metal cuda or plain cpu cores while every client of ollama keeps working unchanged because the server speaks its protocol exactly including streaming tools embeddings and errors so retrieval applications index documents quickly then answer questions about them".split(" ");
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const texts = Array.from({ length: count }, () => Array.from({ length: 12 + Math.floor(rand() * 89) }, () => WORDS[Math.floor(rand() * WORDS.length)]!).join(" "));

async function ollmlx(): Promise<number> {
  const dir = allMiniLmDir();
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  const server = await startOllmlxServe((store) => store.importMlxDir("all-minilm", dir, mlxConfigBlob(config)), process.env);
  try {
    const embed = async (input: string[]) => {
      const r = await fetch(`${server.url}/api/embed`, { method: "POST", body: JSON.stringify({ model: "all-minilm", input }) });
      if (!r.ok) throw new Error(`/api/embed: ${r.status} ${await r.text()}`);
      return (await r.json()) as { embeddings: number[][] };
    };
    await embed(texts.slice(0, 8)); // loads the model
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = await embed(texts);
      if (r.embeddings.length !== count) throw new Error(`${r.embeddings.length} embeddings for ${count} inputs`);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return best;
  } finally {
    await server.stop();
  }
}

function mlxEmbeddings(): number {
  const r = Bun.spawnSync(["python3", join(import.meta.dir, "embed_mlx.py")], {
    // the BLAS ollmlx's runners preload (the mlx-cpu wheel's own is the reference netlib one)
    env: { ...runnerEnv(), PYTHONPATH: [oraclePath(), oracleDep(MLX_EMBEDDINGS)].join(":") },
    stdin: new TextEncoder().encode(JSON.stringify({ dir: allMiniLmDir(), texts, batch: 32, runs })),
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`embed_mlx.py failed: ${r.stderr.toString()}`);
  return (JSON.parse(r.stdout.toString().trim().split("\n").pop()!) as { seconds: number }).seconds;
}

function llamaCpp(): number {
  const r = Bun.spawnSync(["node", join(import.meta.dir, "llama-cpp/embed.mjs"), allMiniLmGguf(), nodeLlamaCppDir(), String(runs)], {
    stdin: new TextEncoder().encode(JSON.stringify(texts)),
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`llama-cpp/embed.mjs failed: ${r.stderr.toString()}`);
  return (JSON.parse(r.stdout.toString().trim().split("\n").pop()!) as { seconds: number }).seconds;
}

const ours = await ollmlx();
const mlx = mlxEmbeddings();
const llama = llamaCpp();
const rate = (s: number) => (count / s).toFixed(1);
mkdirSync(join(import.meta.dir, "results"), { recursive: true });
writeFileSync(
  join(import.meta.dir, "results", `embed-${new Date().toISOString().slice(0, 10)}.json`),
  JSON.stringify({ model: "all-MiniLM-L6-v2", count, runs, seconds: { ollmlx: ours, mlxEmbeddings: mlx, llamaCpp: llama } }, null, 2),
);
console.log(`all-MiniLM-L6-v2: ${count} sentences (12-100 words), best of ${runs}`);
console.log(`| engine | seconds | embeddings/s | ollmlx / it |\n|---|---|---|---|`);
console.log(`| ollmlx /api/embed | ${ours.toFixed(2)} | ${rate(ours)} | |`);
console.log(`| mlx-embeddings (batches of 32) | ${mlx.toFixed(2)} | ${rate(mlx)} | ${(mlx / ours).toFixed(2)}× |`);
console.log(`| llama.cpp (F16 GGUF) | ${llama.toFixed(2)} | ${rate(llama)} | ${(llama / ours).toFixed(2)}× |`);
