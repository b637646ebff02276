#!/usr/bin/env bun
// The prefix cache as a chat user feels it: time to first token of each turn of a long conversation through
// /api/chat (streamed, a real `ollmlx serve` and its runner), with the prefix cache on and, in the same run, off
// (OLLMLX_PREFIX_CACHE_BYTES=0: every turn prefills its whole history, as before the cache).
//   bun bench/serving.ts [--model PATH] [--tokens 2000] [--turns 3] [--gen 32] [--runs 2]
//
// Each run is one conversation with its own opening (so no run reads another's cache): a system prompt of about
// --tokens tokens, then --turns user turns, each answered greedily with --gen tokens and sent back in the history
// as a chat client does. The two servers run one after the other, never at once (2 cores). Results go to
// bench/results/serving-<date>.json and .md.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ggufConfigBlob } from "../src/formats/gguf/model-info.ts";
import { lines } from "./lib/clients.ts";
import { startOllmlxServe } from "./lib/servers.ts";
import { percentile } from "./lib/stats.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: join(import.meta.dir, "../.deps/models/smollm2-135m-instruct-q4_1.gguf") },
    tokens: { type: "string", default: "2000" },
    turns: { type: "string", default: "3" },
    gen: { type: "string", default: "32" },
    runs: { type: "string", default: "2" },
  },
});
const file = values.model!;
const [historyTokens, turns, nGen, runs] = [values.tokens, values.turns, values.gen, values.runs].map(Number) as [number, number, number, number];
const NUM_CTX = 8192;

interface Turn {
  turn: number;
  ttftMs: number;
  promptTokens: number;
  cachedTokens: number;
  /** the runner's own prefill time (prompt_eval_duration) */
  prefillMs: number;
}

// A long system prompt of plain sentences: roughly 1.3 tokens a word for SmolLM2's tokenizer.
const SUBJECTS = ["The warehouse", "Our support team", "The billing system", "Each customer", "The mobile app", "A shipment", "The night shift", "The audit log"];
const VERBS = ["records", "reviews", "forwards", "summarises", "checks", "archives", "flags", "updates"];
const OBJECTS = ["every refund request", "the delivery schedule", "late invoices", "damaged parcels", "account changes", "new orders", "the weekly report", "open tickets"];
function systemPrompt(run: number, tokens: number): string {
  const sentences = [`Conversation ${run}. You are the operations assistant of a small online shop. Rules follow.`];
  for (let i = 0; sentences.join(" ").split(" ").length * 1.3 < tokens; i++) {
    sentences.push(`Rule ${i + 1}: ${SUBJECTS[i % 8]} ${VERBS[(i * 3 + run) % 8]} ${OBJECTS[(i * 5 + 1) % 8]} before ${(i % 12) + 1} o'clock.`);
  }
  return sentences.join(" ");
}
const QUESTIONS = ["Which rules mention refunds?", "Summarise the rules about parcels.", "What happens at 7 o'clock?", "Which team handles invoices?", "List three rules about orders."];

async function chatTurn(url: string, messages: { role: string; content: string }[]): Promise<{ sample: Omit<Turn, "turn">; reply: string }> {
  const options = { temperature: 0, top_k: 0, top_p: 1, repeat_penalty: 1, seed: 0, num_predict: nGen, num_ctx: NUM_CTX };
  const t0 = performance.now();
  const res = await fetch(`${url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "bench", messages, stream: true, options }) });
  if (res.status !== 200) throw new Error(`/api/chat: ${res.status} ${await res.text()}`);
  let first = 0;
  let reply = "";
  let final: Record<string, number> = {};
  for await (const line of lines(res)) {
    const chunk = JSON.parse(line) as { done: boolean; error?: string; message?: { content: string } } & Record<string, number>;
    if (chunk.error) throw new Error(`/api/chat: ${chunk.error}`);
    if (chunk.done) final = chunk;
    else if (chunk.message?.content) {
      if (!first) first = performance.now();
      reply += chunk.message.content;
    }
  }
  const sample = { ttftMs: first - t0, promptTokens: final.prompt_eval_count ?? 0, cachedTokens: final.prompt_eval_cached_count ?? 0, prefillMs: (final.prompt_eval_duration ?? 0) / 1e6 };
  return { sample, reply };
}

async function conversations(cache: boolean, firstRun: number): Promise<Turn[]> {
  const env = { ...process.env, OLLMLX_PREFIX_CACHE_BYTES: cache ? process.env.OLLMLX_PREFIX_CACHE_BYTES : "0" };
  const server = await startOllmlxServe((store) => store.importGguf("bench:latest", file, ggufConfigBlob(file)), env);
  const out: Turn[] = [];
  try {
    // Load the model and warm up (JIT, MLX's buffers, BLAS threads) on a conversation of its own.
    await chatTurn(server.url, [{ role: "user", content: "Hello" }]);
    for (let r = 0; r < runs; r++) {
      const messages = [{ role: "system", content: systemPrompt(firstRun + r, historyTokens) }];
      for (let t = 0; t < turns; t++) {
        messages.push({ role: "user", content: QUESTIONS[t % QUESTIONS.length]! });
        const { sample, reply } = await chatTurn(server.url, messages);
        out.push({ turn: t + 1, ...sample });
        messages.push({ role: "assistant", content: reply });
      }
    }
  } finally {
    await server.stop();
  }
  return out;
}

const median = (xs: number[]) => percentile(xs, 0.5);
const on = await conversations(true, 1);
const off = await conversations(false, 1 + runs);

const byTurn = (xs: Turn[], t: number) => xs.filter((s) => s.turn === t);
const turn1On = median(byTurn(on, 1).map((s) => s.ttftMs));
const rows: string[] = [];
for (let t = 1; t <= turns; t++) {
  const a = byTurn(on, t);
  const b = byTurn(off, t);
  const ttftOn = median(a.map((s) => s.ttftMs));
  const ttftOff = median(b.map((s) => s.ttftMs));
  rows.push(
    `| ${t} | ${median(a.map((s) => s.promptTokens))} | ${median(a.map((s) => s.cachedTokens))} | ${(ttftOff / 1000).toFixed(2)} | ${(ttftOn / 1000).toFixed(2)} | ${(ttftOn / ttftOff).toFixed(3)}× | ${(ttftOn / turn1On).toFixed(3)}× |`,
  );
}
const date = new Date().toISOString().slice(0, 10);
const report = [
  `Prefix cache: TTFT of each turn of a chat, \`bun bench/serving.ts --tokens ${historyTokens} --turns ${turns} --gen ${nGen} --runs ${runs}\``,
  `(${file.split("/").pop()}, /api/chat streamed, greedy, ${nGen} tokens a turn; median of ${runs} conversations; cache off = OLLMLX_PREFIX_CACHE_BYTES=0, same run)`,
  "",
  "| turn | prompt tokens | read from cache | TTFT cache off, s | TTFT cache on, s | on / off | on / turn 1 |",
  "|---|---|---|---|---|---|---|",
  ...rows,
].join("\n");
console.log(report);
const dir = join(import.meta.dir, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `serving-${date}.json`), JSON.stringify({ date, model: file.split("/").pop(), historyTokens, turns, nGen, runs, on, off }, null, 2) + "\n");
writeFileSync(join(dir, `serving-${date}.md`), report + "\n");
