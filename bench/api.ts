#!/usr/bin/env bun
// What the HTTP API costs: time to first token and generation tokens/s through /api/generate (streamed, a real
// server and runner process) vs the engine called in-process, same GGUF, same prompt, greedy, same run.
//   bun bench/api.ts [--model PATH] [--gen 64] [--runs 3]
// Both sides are timed the same way, on the client: TTFT from the request (or the tokenizer call) to the first
// token with text; generation tokens/s over the tokens after the first, from the first to the last one seen.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { complete, loadGgufModel } from "../src/engine/completion.ts";
import { GREEDY } from "../src/engine/sampler.ts";
import { shouldDequantizeOnCpu } from "../src/engine/cpu-backend.ts";
import { ggufConfigBlob } from "../src/formats/gguf/model-info.ts";
import { Scheduler, schedulerOptionsFromEnv } from "../src/scheduler/scheduler.ts";
import { createApp } from "../src/server.ts";
import { Store } from "../src/store/store.ts";
import { reexecWithRunnerBlas } from "./lib/blas.ts";

reexecWithRunnerBlas();

const { values } = parseArgs({
  options: {
    model: { type: "string", default: join(import.meta.dir, "../.deps/models/smollm2-135m-instruct-q4_1.gguf") },
    gen: { type: "string", default: "64" },
    runs: { type: "string", default: "3" },
  },
});
const file = values.model!;
const nGen = Number(values.gen);
const runs = Number(values.runs);
const NUM_CTX = 4096;
const PROMPT = "The history of the printing press begins in";

interface Sample {
  ttftMs: number;
  genTps: number;
  tokens: number;
}

/** Client-side rate over the tokens after the first (the first one's latency is TTFT). */
function sample(t0: number, tokenTimes: number[]): Sample {
  const first = tokenTimes[0]!;
  const last = tokenTimes.at(-1)!;
  return { ttftMs: first - t0, genTps: tokenTimes.length > 1 ? (tokenTimes.length - 1) / ((last - first) / 1000) : 0, tokens: tokenTimes.length };
}

// In-process: the same load options a runner would pick on this machine (serve-model.ts: weight bytes * 2).
const dequantize = shouldDequantizeOnCpu(statSync(file).size * 2, "cpu");
const lm = loadGgufModel("bench", file, { dequantize });

async function inProcess(): Promise<Sample> {
  const t0 = performance.now();
  const tokens = lm.tokenizer.encodePrompt(PROMPT);
  const times: number[] = [];
  const run = complete(lm, tokens, { ...GREEDY, maxTokens: nGen, numCtx: NUM_CTX, stop: [] }, { cancelled: () => false, yieldToLoop: async () => {} });
  while (true) {
    const r = await run.next();
    if (r.done) break;
    if (r.value.token >= 0) times.push(performance.now());
  }
  return sample(t0, times);
}

// Through HTTP: a real server over a temporary store holding the same file.
const root = mkdtempSync(join(tmpdir(), "ollmlx-bench-api-"));
const store = new Store(root);
await store.importGguf("bench:latest", file, ggufConfigBlob(file));
const scheduler = new Scheduler(store, schedulerOptionsFromEnv({}));
const app = createApp({ store, scheduler }, { bindHost: "127.0.0.1" });
app.listen({ hostname: "127.0.0.1", port: 0 });
const url = `http://127.0.0.1:${app.server!.port}`;
const options = { ...{ temperature: 0, top_k: 0, top_p: 1, repeat_penalty: 1 }, num_predict: nGen, num_ctx: NUM_CTX, seed: 0 };

async function throughApi(): Promise<Sample & { runnerTps: number; runnerTtftMs: number; serverMs: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "bench", prompt: PROMPT, raw: true, stream: true, options }),
  });
  if (res.status !== 200) throw new Error(`/api/generate: ${res.status} ${await res.text()}`);
  const times: number[] = [];
  let final: Record<string, number> = {};
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const bytes of res.body!) {
    buffered += decoder.decode(bytes, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      const chunk = JSON.parse(line) as { done: boolean; response: string } & Record<string, number>;
      if (chunk.done) final = chunk;
      else times.push(performance.now());
    }
  }
  // A token whose text is still pending (part of a character) sends no chunk: count tokens from the runner.
  const seen = sample(t0, times);
  const genTps = times.length > 1 ? (final.eval_count! - 1) / ((times.at(-1)! - times[0]!) / 1000) : 0;
  // The runner's own time to first token (its generate loop, from the tokenized prompt) and the server's time
  // outside the runner's loop (route, scheduler, IPC, tokenization: total - prompt_eval - eval).
  const runnerTtftMs = final.prompt_eval_duration! / 1e6;
  const serverMs = (final.total_duration! - final.prompt_eval_duration! - final.eval_duration!) / 1e6;
  return { ...seen, genTps, tokens: final.eval_count!, runnerTps: final.eval_count! / (final.eval_duration! / 1e9), runnerTtftMs, serverMs };
}

try {
  // Warm up: load the model into its runner, and run each side once.
  await fetch(`${url}/api/generate`, { method: "POST", body: JSON.stringify({ model: "bench", keep_alive: "10m" }) });
  await throughApi();
  await inProcess();
  const api: Awaited<ReturnType<typeof throughApi>>[] = [];
  const local: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    api.push(await throughApi());
    local.push(await inProcess());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const a = { ttft: median(api.map((s) => s.ttftMs)), tps: median(api.map((s) => s.genTps)), runner: median(api.map((s) => s.runnerTps)) };
  const l = { ttft: median(local.map((s) => s.ttftMs)), tps: median(local.map((s) => s.genTps)) };
  console.log(`model ${file} (dequantize=${dequantize}, BLAS ${process.env.OLLMLX_BLAS_PRELOADED ?? "none"}), raw prompt, greedy, num_predict ${nGen}, median of ${runs}`);
  console.log(`tokens per run: api ${api.map((s) => s.tokens).join("/")}, in-process ${local.map((s) => s.tokens).join("/")}`);
  console.log(`in-process : TTFT ${l.ttft.toFixed(1)} ms, generation ${l.tps.toFixed(1)} tok/s`);
  console.log(`HTTP API   : TTFT ${a.ttft.toFixed(1)} ms, generation ${a.tps.toFixed(1)} tok/s (client-side; runner reports ${a.runner.toFixed(1)} tok/s)`);
  console.log(`API added time to first token: ${(a.ttft - l.ttft).toFixed(1)} ms (client TTFT through HTTP - in-process TTFT)`);
  const path = median(api.map((s) => s.ttftMs - s.runnerTtftMs));
  const server = median(api.map((s) => s.serverMs));
  const runnerTtft = median(api.map((s) => s.runnerTtftMs));
  console.log(`  of which the request path: ${path.toFixed(1)} ms (client TTFT - the runner's own prompt_eval_duration; server-side ${server.toFixed(1)} ms)`);
  console.log(`  and the runner's prefill vs in-process: ${(runnerTtft - l.ttft).toFixed(1)} ms (runner prompt_eval ${runnerTtft.toFixed(1)} ms)`);
  console.log(`API generation slowdown: ${((1 - a.tps / l.tps) * 100).toFixed(1)} %`);
} finally {
  await app.stop(true);
  await scheduler.shutdown();
  lm[Symbol.dispose]();
  rmSync(root, { recursive: true, force: true });
}
