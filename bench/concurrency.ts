#!/usr/bin/env bun
// Continuous batching as users feel it, every figure from one run:
//  1. aggregate generated tokens/s of 1, 4 and 8 concurrent clients (streamed /api/generate, greedy, --gen tokens
//     each, distinct prompts), on `ollmlx serve` with the GGUF model, OLLAMA_NUM_PARALLEL=8;
//  2. a short request's TTFT alone, and while 3 other clients stream long answers;
//  3. the same sweep as 1 against mlx_lm.server (its batching on) on the same MLX 4-bit directory, ollmlx serving
//     that directory too.
//   bun bench/concurrency.ts [--gen 64] [--clients 1,4,8] [--peer] [--runs 2]
// Servers run one after the other, never at once (2 cores). Aggregate = all generated tokens / wall time from the
// first request sent to the last answer ended (prefill included). Results: bench/results/concurrency-<date>.json,
// .md and .png (matplotlib from .deps, as bench/chart.py).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ggufConfigBlob } from "../src/formats/gguf/model-info.ts";
import { runnerEnv } from "../src/engine/cpu-backend.ts";
import { ollamaClient, type Server } from "./lib/clients.ts";
import { benchModels, ensureMlx4bit, oraclePythonPath, PLOT_PYTHONPATH } from "./lib/models.ts";
import { startMlxLmServer, startOllmlx, startOllmlxServe, type RunningServer } from "./lib/servers.ts";
import { percentile } from "./lib/stats.ts";

const { values } = parseArgs({
  options: {
    gen: { type: "string", default: "64" },
    clients: { type: "string", default: "1,4,8" },
    peer: { type: "boolean", default: false },
    runs: { type: "string", default: "2" },
  },
});
const gen = Number(values.gen);
const levels = values.clients!.split(",").map(Number);
const runs = Number(values.runs);
const NUM_CTX = 4096;
const started = performance.now();
const log = (msg: string) => console.error(`concurrency [${((performance.now() - started) / 1000).toFixed(0)} s] ${msg}`);

const TOPICS = ["a lighthouse keeper", "a lost robot", "the last train home", "a city under the sea", "a chess prodigy", "an old violin", "a winter market", "a secret garden", "a desert caravan", "a clockmaker"];
const prompt = (i: number) => `Write a long story about ${TOPICS[i % TOPICS.length]} (story ${i}). Once upon a time,`;

interface SweepRow {
  system: string;
  clients: number;
  aggregateTps: number;
  genTokens: number;
  wallS: number;
  ttftP50Ms: number;
}

async function sweep(system: string, server: Server): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const clients of levels) {
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const samples = await Promise.all(Array.from({ length: clients }, (_, i) => server.generate(prompt(100 * r + 10 * clients + i), gen)));
      const wallS = (performance.now() - t0) / 1000;
      const genTokens = samples.reduce((n, s) => n + s.genTokens, 0);
      rows.push({ system, clients, aggregateTps: genTokens / wallS, genTokens, wallS, ttftP50Ms: percentile(samples.map((s) => s.ttftMs), 0.5) });
      log(`${system}: ${clients} clients, ${genTokens} tokens in ${wallS.toFixed(1)} s = ${(genTokens / wallS).toFixed(1)} tok/s`);
    }
  }
  return rows;
}

/** A short request's TTFT alone, then while 3 long streams run (each measured `runs` times, medians). */
async function shortBesideStreams(server: Server): Promise<{ aloneMs: number; besideMs: number }> {
  const short = (i: number) => `Name a colour (${i}):`;
  const alone: number[] = [];
  for (let r = 0; r < runs; r++) alone.push((await server.generate(short(r), 8)).ttftMs);
  const beside: number[] = [];
  for (let r = 0; r < runs; r++) {
    const long = Array.from({ length: 3 }, (_, i) => server.generate(prompt(500 + 10 * r + i), 4 * gen));
    await Bun.sleep(3000); // their prompts (about 20 tokens each) are prefilled by then: they stream
    beside.push((await server.generate(short(100 + r), 8)).ttftMs);
    await Promise.all(long);
  }
  return { aloneMs: percentile(alone, 0.5), besideMs: percentile(beside, 0.5) };
}

async function withServer<T>(name: string, start: () => Promise<RunningServer | (Server & { stop(): Promise<void> })>, body: (s: Server) => Promise<T>): Promise<T> {
  log(`starting ${name}`);
  const s = await start();
  try {
    await s.generate("Hello", 4); // load and warm up
    return await body(s);
  } finally {
    await s.stop();
  }
}

const env = { ...runnerEnv(), OLLAMA_NUM_PARALLEL: "8" };
const [smollm2] = benchModels(true, "float32");
const m = smollm2!;
const ggufServe = () =>
  startOllmlxServe((store) => store.importGguf("bench:latest", m.gguf, ggufConfigBlob(m.gguf)), env).then((s) => ({ ...s, ...ollamaClient(s.url, "bench", NUM_CTX) }));

const rows: SweepRow[] = [];
let short = { aloneMs: Number.NaN, besideMs: Number.NaN };
await withServer("ollmlx (GGUF)", ggufServe, async (s) => {
  rows.push(...(await sweep("ollmlx GGUF", s)));
  short = await shortBesideStreams(s);
});
if (values.peer) {
  const oracle = oraclePythonPath();
  ensureMlx4bit(m, "python3", oracle);
  const peerEnv = { ...env, PYTHONPATH: oracle };
  await withServer("ollmlx (MLX 4-bit)", () => startOllmlx(m.mlxDir, NUM_CTX, env), async (s) => rows.push(...(await sweep("ollmlx MLX 4-bit", s))));
  await withServer("mlx_lm.server", () => startMlxLmServer(m.mlxDir, "python3", peerEnv), async (s) => rows.push(...(await sweep("mlx_lm.server", s))));
}

const median = (xs: number[]) => percentile(xs, 0.5);
const systems = [...new Set(rows.map((r) => r.system))];
const agg = (system: string, clients: number) => median(rows.filter((r) => r.system === system && r.clients === clients).map((r) => r.aggregateTps));
const table = systems.flatMap((system) =>
  levels.map((c) => {
    const a = agg(system, c);
    const vsPeer = system.startsWith("ollmlx MLX") && systems.includes("mlx_lm.server") ? ` ${(a / agg("mlx_lm.server", c)).toFixed(2)}×` : "";
    return `| ${system} | ${c} | ${a.toFixed(1)} | ${(a / agg(system, levels[0]!)).toFixed(2)}× |${vsPeer} |`;
  }),
);
const date = new Date().toISOString().slice(0, 10);
const args = `--gen ${gen} --clients ${levels.join(",")} --runs ${runs}${values.peer ? " --peer" : ""}`;
const report = [
  `Continuous batching: \`bun bench/concurrency.ts ${args}\` (${m.name}, streamed, greedy, ${gen} tokens a client; median of ${runs} runs; OLLAMA_NUM_PARALLEL=8)`,
  "",
  "| server | clients | aggregate tok/s | vs 1 client | ollmlx / mlx_lm.server |",
  "|---|---|---|---|---|",
  ...table,
  "",
  `Short request (8 tokens) TTFT: alone ${short.aloneMs.toFixed(0)} ms, while 3 clients stream ${short.besideMs.toFixed(0)} ms (${(short.besideMs / short.aloneMs).toFixed(2)}×).`,
].join("\n");
console.log(report);
const dir = join(import.meta.dir, "results");
mkdirSync(dir, { recursive: true });
const base = join(dir, `concurrency-${date}`);
writeFileSync(`${base}.json`, JSON.stringify({ date, model: m.name, gen, levels, runs, rows, short }, null, 2) + "\n");
writeFileSync(`${base}.md`, report + "\n");
const plot = Bun.spawnSync(["python3", join(import.meta.dir, "concurrency_chart.py"), `${base}.json`, `${base}.png`], { env: { ...process.env, PYTHONPATH: PLOT_PYTHONPATH }, stderr: "pipe" });
if (plot.exitCode !== 0) log(`chart failed: ${plot.stderr.toString().trim().split("\n").pop()}`);
