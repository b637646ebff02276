#!/usr/bin/env bun
// A mixed soak of a real `ollmlx serve`: several clients at once, each sending a seeded random mix of requests —
// /api/chat streamed and not (multi-turn conversations that grow, so the prefix cache is read and evicted),
// /api/generate, /v1/chat/completions — of varied prompt and answer lengths, a quarter of the streams cancelled
// mid-answer and some non-streamed requests abandoned (the client hangs up). It counts errors and runner
// restarts (a crashed runner is replaced by one with another pid) and samples the runner's RSS, so a leak or a
// crash shows (issues 20 and 21).
//   bun bench/soak.ts [--minutes 20] [--clients 1-8] [--model PATH] [--seed 1]
// --clients N runs N clients throughout; "1-8" changes the number of active clients every minute.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ggufConfigBlob } from "../src/formats/gguf/model-info.ts";
import { lines } from "./lib/clients.ts";
import { processTree, rssMiB } from "./lib/proc.ts";
import { startOllmlxServe } from "./lib/servers.ts";
import { rng } from "../test/fixtures/rng.ts";
import { OLLMLX_PREFIX_CACHE_BYTES } from "../src/config/settings.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: join(import.meta.dir, "../.deps/models/smollm2-135m-instruct-q4_1.gguf") },
    minutes: { type: "string", default: "20" },
    clients: { type: "string", default: "1-8" },
    seed: { type: "string", default: "1" },
  },
});
const file = values.model!;
const minutes = Number(values.minutes);
const [minClients, maxClients] = values.clients!.split("-").map(Number) as [number, number | undefined];
const clientsMax = maxClients ?? minClients;

const WORDS = "the a shop order parcel refund invoice customer team night report audit rule check update weekly late new open".split(" ");
const sentence = (r: () => number, words: number) => Array.from({ length: words }, () => WORDS[Math.floor(r() * WORDS.length)]).join(" ");

type Kind = "chat-stream" | "chat" | "generate-stream" | "v1-chat";
interface Tally {
  requests: number;
  cancelled: number;
  errors: number;
  tokens: number;
  cachedTokens: number;
}
const tally = new Map<Kind, Tally>();
const errors: string[] = [];
const count = (kind: Kind, f: (t: Tally) => void) => {
  const t = tally.get(kind) ?? { requests: 0, cancelled: 0, errors: 0, tokens: 0, cachedTokens: 0 };
  f(t);
  tally.set(kind, t);
};

async function streamed(url: string, path: string, body: unknown, cancelAfter: number | null): Promise<{ cancelled: boolean; final: Record<string, number>; text: string }> {
  const abort = new AbortController();
  const res = await fetch(url + path, { method: "POST", body: JSON.stringify(body), signal: abort.signal });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  let chunks = 0;
  let text = "";
  let final: Record<string, number> = {};
  try {
    for await (const line of lines(res)) {
      const data = line.startsWith("data: ") ? line.slice(6) : line;
      if (data === "[DONE]") break;
      const chunk = JSON.parse(data) as Record<string, unknown>;
      if (chunk.error) throw new Error(`${path}: ${JSON.stringify(chunk.error)}`);
      if (chunk.done) final = chunk as Record<string, number>;
      const usage = chunk.usage as { completion_tokens: number; prompt_tokens_details?: { cached_tokens: number } } | undefined;
      if (usage) final = { eval_count: usage.completion_tokens, prompt_eval_cached_count: usage.prompt_tokens_details?.cached_tokens ?? 0 };
      text += (chunk.message as { content?: string } | undefined)?.content ?? "";
      if (cancelAfter !== null && ++chunks >= cancelAfter) abort.abort(); // the client hangs up mid-answer
    }
  } catch (e) {
    // Our own hang-up ends the body with an AbortError: a cancel, not an error of the server's.
    if (abort.signal.aborted && (e as Error).name === "AbortError") return { cancelled: true, final, text };
    throw e;
  }
  return { cancelled: abort.signal.aborted, final, text };
}

async function client(url: string, id: number, active: () => boolean, deadline: number): Promise<void> {
  const r = rng(Number(values.seed) * 1000 + id);
  let history: { role: string; content: string }[] = [];
  while (performance.now() < deadline) {
    if (!active()) {
      await Bun.sleep(500);
      continue;
    }
    const pick = r();
    const kind: Kind = pick < 0.4 ? "chat-stream" : pick < 0.6 ? "chat" : pick < 0.8 ? "generate-stream" : "v1-chat";
    const numPredict = 4 + Math.floor(r() * 60);
    const options = { num_predict: numPredict, temperature: r() < 0.5 ? 0 : 0.8, seed: Math.floor(r() * 1000) };
    // A conversation grows for a few turns (the prefix cache's case), then starts over.
    if (history.length === 0 || history.length > 8 || r() < 0.2) history = [{ role: "system", content: `Client ${id}. ${sentence(r, 20 + Math.floor(r() * 300))}` }];
    history.push({ role: "user", content: sentence(r, 5 + Math.floor(r() * 40)) });
    const cancelStream = r() < 0.25 ? 1 + Math.floor(r() * 10) : null;
    try {
      if (kind === "chat") {
        const abandon = r() < 0.1;
        const abort = new AbortController();
        const timer = abandon ? setTimeout(() => abort.abort(), 200 + r() * 1500) : undefined;
        try {
          const res = await fetch(`${url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "soak", messages: history, stream: false, options }), signal: abort.signal });
          const body = (await res.json()) as { message?: { content: string }; eval_count?: number; prompt_eval_cached_count?: number; error?: string };
          if (res.status !== 200) throw new Error(`/api/chat: ${res.status} ${body.error}`);
          history.push({ role: "assistant", content: body.message!.content });
          count(kind, (t) => ((t.requests += 1), (t.tokens += body.eval_count ?? 0), (t.cachedTokens += body.prompt_eval_cached_count ?? 0)));
        } catch (e) {
          if ((e as Error).name !== "AbortError") throw e;
          history.pop();
          count(kind, (t) => ((t.requests += 1), (t.cancelled += 1)));
        } finally {
          clearTimeout(timer);
        }
      } else {
        const [path, body] =
          kind === "chat-stream"
            ? ["/api/chat", { model: "soak", messages: history, options }]
            : kind === "generate-stream"
              ? ["/api/generate", { model: "soak", prompt: history.at(-1)!.content, options }]
              : ["/v1/chat/completions", { model: "soak", messages: history, max_tokens: numPredict, stream: true, stream_options: { include_usage: true } }];
        const { cancelled, final, text } = await streamed(url, path, body, cancelStream);
        if (kind !== "chat-stream" || cancelled) history.pop();
        else history.push({ role: "assistant", content: text });
        count(kind, (t) => ((t.requests += 1), (t.cancelled += cancelled ? 1 : 0), (t.tokens += final.eval_count ?? 0), (t.cachedTokens += final.prompt_eval_cached_count ?? 0)));
      }
    } catch (e) {
      history.pop();
      errors.push(`${kind}: ${(e as Error).message}`);
      count(kind, (t) => ((t.requests += 1), (t.errors += 1)));
    }
  }
}

const server = await startOllmlxServe((store) => store.importGguf("soak:latest", file, ggufConfigBlob(file)), process.env);
interface Sample {
  minute: number;
  runnerPid: number | null;
  rssMiB: number;
  clients: number;
  requests: number;
}
const samples: Sample[] = [];
const runners = new Set<number>();
try {
  await fetch(`${server.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: "soak" }) }); // load
  const t0 = performance.now();
  const deadline = t0 + minutes * 60_000;
  let activeClients = clientsMax;
  const pickClients = rng(Number(values.seed));
  const sample = () => {
    const runner = processTree(server.pid).slice(1)[0] ?? null;
    if (runner) runners.add(runner);
    const requests = [...tally.values()].reduce((n, t) => n + t.requests, 0);
    samples.push({ minute: (performance.now() - t0) / 60_000, runnerPid: runner, rssMiB: runner ? rssMiB(runner) : Number.NaN, clients: activeClients, requests });
  };
  sample();
  const timer = setInterval(() => {
    sample();
    if (maxClients !== undefined) activeClients = minClients + Math.floor(pickClients() * (clientsMax - minClients + 1));
  }, 60_000);
  await Promise.all(Array.from({ length: clientsMax }, (_, i) => client(server.url, i, () => i < activeClients, deadline)));
  clearInterval(timer);
  sample();
} finally {
  await server.stop();
}

const rows = [...tally.entries()].map(([k, t]) => `| ${k} | ${t.requests} | ${t.cancelled} | ${t.errors} | ${t.tokens} | ${t.cachedTokens} |`);
const total = [...tally.values()].reduce((a, t) => ({ requests: a.requests + t.requests, cancelled: a.cancelled + t.cancelled, errors: a.errors + t.errors }), { requests: 0, cancelled: 0, errors: 0 });
const first = samples[1] ?? samples[0]!; // after a minute: the model, MLX's buffers and the prefix cache warmed up
const last = samples.at(-1)!;
const date = new Date().toISOString().slice(0, 10);
const report = [
  `Soak: \`bun bench/soak.ts --minutes ${minutes} --clients ${values.clients} --seed ${values.seed}\` (${file.split("/").pop()})`,
  "",
  "| request | sent | cancelled by the client | errors | tokens generated | prompt tokens read from the prefix cache |",
  "|---|---|---|---|---|---|",
  ...rows,
  "",
  `${total.requests} requests, ${total.cancelled} cancelled, **${total.errors} errors**, **${runners.size - 1 < 0 ? 0 : runners.size - 1} runner restarts** (runner pids seen: ${[...runners].join(", ")}).`,
  `Runner RSS: the prefix cache may hold up to ${(OLLMLX_PREFIX_CACHE_BYTES.read() / 2 ** 20).toFixed(0)} MiB (OLLMLX_PREFIX_CACHE_BYTES); ${first.rssMiB.toFixed(0)} MiB at minute ${first.minute.toFixed(1)}, ${last.rssMiB.toFixed(0)} MiB at the end (max ${Math.max(...samples.map((s) => s.rssMiB).filter(Number.isFinite)).toFixed(0)}).`,
  "",
  "| minute | active clients | requests so far | runner RSS, MiB |",
  "|---|---|---|---|",
  ...samples.map((s) => `| ${s.minute.toFixed(1)} | ${s.clients} | ${s.requests} | ${s.rssMiB.toFixed(0)} |`),
  ...(errors.length ? ["", "Errors:", ...errors.slice(0, 20).map((e) => `- ${e}`)] : []),
].join("\n");
console.log(report);
const dir = join(import.meta.dir, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `soak-${date}.json`), JSON.stringify({ date, model: file.split("/").pop(), minutes, clients: values.clients, tally: Object.fromEntries(tally), errors, samples }, null, 2) + "\n");
writeFileSync(join(dir, `soak-${date}.md`), report + "\n");
if (total.errors > 0 || runners.size > 1) process.exitCode = 1;
