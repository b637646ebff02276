#!/usr/bin/env bun
// What the HTTP API costs: time to first token and generation tokens/s through /api/generate (streamed, from a
// real `ollmlx serve` process and its runner) vs the engine called in-process, same GGUF, same prompt, greedy,
// same run.
//   bun bench/api.ts [--model PATH] [--gen 32] [--runs 24]
//
// Three processes besides the server: this one is the HTTP client and holds no model, as a real client does; the
// in-process side runs in a worker (this file with --engine-worker) that loads the model once and runs the engine
// on request. The client must not hold a model: a process with a big heap collects garbage on helper threads
// whenever it allocates (fetch, JSON), and on 2 cores those take CPU from the server and the runner.
//
// Both sides run the very same token loop (src/engine/generate.ts), and both report how long that loop took to its
// first token (the runner as prompt_eval_duration). An 8-token prefill on a 2-core CPU varies by tens of ms from
// one run to the next, far more than the API's cost; so besides the end-to-end TTFT difference, the bench reports
// what each side spends outside the loop (client TTFT minus the loop's own time to first token). Through HTTP that
// is the request, routing, the scheduler, IPC to the runner and back, tokenization and the first chunk's way back;
// in-process it is the same tokenization and detokenization. The difference is what the API adds, without the
// prefill's noise.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ggufConfigBlob } from "../src/formats/gguf/model-info.ts";
import { lines } from "./lib/clients.ts";
import { startOllmlxServe } from "./lib/servers.ts";
import { percentile } from "./lib/stats.ts";
import { rateAfterFirst, type TtftSample } from "./lib/ttft.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: join(import.meta.dir, "../.deps/models/smollm2-135m-instruct-q4_1.gguf") },
    gen: { type: "string", default: "32" },
    runs: { type: "string", default: "24" },
  },
});
const file = values.model!;
const nGen = Number(values.gen);
const runs = Number(values.runs);
const NUM_CTX = 4096;
const PROMPT = "The history of the printing press begins in";

/** The in-process side: a worker that has loaded the model and runs `n` completions when asked. */
async function startEngineWorker(): Promise<{ run(n: number): Promise<TtftSample[]>; stop(): Promise<void> }> {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "workers/api-engine.ts"), file, String(nGen), String(NUM_CTX), PROMPT], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const output = lines(new Response(proc.stdout));
  const next = async () => {
    const r = await output.next();
    if (r.done) throw new Error(`the engine worker exited (${await proc.exited})`);
    return r.value;
  };
  if ((await next()) !== "ready") throw new Error("the engine worker did not start");
  return {
    async run(n) {
      proc.stdin.write(`${n}\n`);
      await proc.stdin.flush();
      return JSON.parse(await next()) as TtftSample[];
    },
    async stop() {
      proc.stdin.end();
      await proc.exited;
    },
  };
}

const server = await startOllmlxServe((store) => store.importGguf("bench:latest", file, ggufConfigBlob(file)), process.env);
const options = { temperature: 0, top_k: 0, top_p: 1, repeat_penalty: 1, num_predict: nGen, num_ctx: NUM_CTX, seed: 0 };

async function throughApi(): Promise<TtftSample> {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "bench", prompt: PROMPT, raw: true, stream: true, options }),
  });
  if (res.status !== 200) throw new Error(`/api/generate: ${res.status} ${await res.text()}`);
  const times: number[] = [];
  let final: Record<string, number> = {};
  for await (const line of lines(res)) {
    const chunk = JSON.parse(line) as { done: boolean; response: string } & Record<string, number>;
    if (chunk.done) final = chunk;
    else times.push(performance.now());
  }
  // A token whose text is still pending (part of a character) sends no chunk: count tokens from the runner.
  return { ttftMs: times[0]! - t0, loopTtftMs: final.prompt_eval_duration! / 1e6, genTps: rateAfterFirst(times, final.eval_count!), tokens: final.eval_count! };
}

const median = (xs: number[]) => percentile(xs, 0.5);
const engine = await startEngineWorker();

try {
  // Warm up: load the model into its runner and run a few requests (JIT, MLX's buffer cache, BLAS threads);
  // the engine worker warmed itself up.
  await fetch(`${server.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: "bench" }) });
  for (let i = 0; i < 3; i++) await throughApi();
  const api: TtftSample[] = [];
  const local: TtftSample[] = [];
  // Each side runs its requests back to back, as a busy server sees them, in blocks ordered API, in-process,
  // in-process, API so that a drift in the machine's speed hits both alike. Interleaving single runs would not do:
  // BLAS worker threads spin for a while after their last matmul (OpenBLAS's THREAD_TIMEOUT, which the engine
  // needs: with a short one it generates 15% slower), and one side's spinning threads would take the 2 cores
  // from the other side's first steps.
  const block = Math.max(1, Math.ceil(runs / 2));
  for (const side of ["api", "local", "local", "api"] as const) {
    if (side === "local") local.push(...(await engine.run(block)));
    else for (let i = 0; i < block; i++) api.push(await throughApi());
  }
  const outside = (s: TtftSample) => s.ttftMs - s.loopTtftMs;
  const diff = (f: (s: TtftSample) => number) => median(api.map(f)) - median(local.map(f));
  const added = diff(outside);
  const slowdown = (1 - median(api.map((s) => s.genTps)) / median(local.map((s) => s.genTps))) * 100;
  console.log(`model ${file}, raw prompt "${PROMPT}", greedy, num_predict ${nGen}`);
  console.log(`${api.length} runs each side, median (interquartile range); tokens per run: api ${[...new Set(api.map((s) => s.tokens))].join("/")}, in-process ${[...new Set(local.map((s) => s.tokens))].join("/")}`);
  console.log("");
  const cell = (xs: TtftSample[], f: (s: TtftSample) => number, digits = 1) => {
    const v = xs.map(f);
    return `${median(v).toFixed(digits)} (${percentile(v, 0.25).toFixed(digits)}…${percentile(v, 0.75).toFixed(digits)})`;
  };
  console.log("| | in-process | through HTTP | HTTP − in-process |");
  console.log("|---|---|---|---|");
  console.log(`| TTFT, ms | ${cell(local, (s) => s.ttftMs)} | ${cell(api, (s) => s.ttftMs)} | ${diff((s) => s.ttftMs).toFixed(1)} |`);
  console.log(`| the token loop's own first token, ms | ${cell(local, (s) => s.loopTtftMs)} | ${cell(api, (s) => s.loopTtftMs)} | ${diff((s) => s.loopTtftMs).toFixed(1)} |`);
  console.log(`| TTFT outside the token loop, ms | ${cell(local, outside, 2)} | ${cell(api, outside, 2)} | **${added.toFixed(2)}** |`);
  console.log(`| generation, tok/s | ${cell(local, (s) => s.genTps)} | ${cell(api, (s) => s.genTps)} | ${slowdown.toFixed(1)} % slower |`);
  console.log("");
  console.log(`API added time to first token: ${added.toFixed(2)} ms outside the token loop (end to end: ${diff((s) => s.ttftMs).toFixed(1)} ms)`);
  console.log(`API generation slowdown: ${slowdown.toFixed(1)} %`);
} finally {
  await engine.stop();
  await server.stop();
}
