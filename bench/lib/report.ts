// The markdown report of a run: single-client tables (median and min–max), ratios ollmlx / peer, concurrency.
import type { Spread } from "./stats.ts";
import { PEER_OF, SYSTEM_LABELS, type BenchResults, type ConcurrencyRow, type SingleRow, type SystemId } from "./types.ts";

const num = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
const range = (s: Spread, d = 1) => (Number.isFinite(s.median) ? `${num(s.median, d)} (${num(s.min, d)}–${num(s.max, d)})` : "–");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "–");
const label = (s: SystemId) => SYSTEM_LABELS[s];

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export interface RatioRow {
  model: string;
  workload: string;
  ours: SystemId;
  peer: SystemId;
  prompt: string;
  gen: string;
  ttft: string;
}

/** ollmlx / peer for each pair that ran: > 1 is ollmlx faster for tok/s; for TTFT, < 1 is ollmlx faster. */
export function ratioRows(single: SingleRow[]): RatioRow[] {
  const out: RatioRow[] = [];
  for (const a of single) {
    const peer = PEER_OF[a.system];
    const b = single.find((r) => r.system === peer && r.model === a.model && r.workload === a.workload);
    if (!peer || !b) continue;
    out.push({ model: a.model, workload: a.workload, ours: a.system, peer, prompt: ratio(a.promptTps.median, b.promptTps.median), gen: ratio(a.genTps.median, b.genTps.median), ttft: ratio(a.ttftMs.median, b.ttftMs.median) });
  }
  return out;
}

export function ratioTable(rows: RatioRow[]): string {
  return table(
    ["model", "workload", "ollmlx", "peer", "prompt tok/s ratio", "gen tok/s ratio", "TTFT ratio"],
    rows.map((r) => [r.model, r.workload, label(r.ours), label(r.peer), r.prompt, r.gen, r.ttft]),
  );
}

function concurrencyTable(rows: ConcurrencyRow[]): string {
  const peerOf = (r: ConcurrencyRow) => rows.find((p) => p.system === PEER_OF[r.system] && p.model === r.model && p.clients === r.clients);
  return table(
    ["model", "clients", "system", "aggregate gen tok/s", "TTFT p50 ms", "TTFT p95 ms", "tokens", "wall s", "ollmlx / peer (tok/s)"],
    rows.map((r) => {
      const p = peerOf(r);
      return [r.model, String(r.clients), label(r.system), num(r.aggregateGenTps), num(r.ttftP50Ms, 0), num(r.ttftP95Ms, 0), String(r.genTokens), num(r.wallS), p ? ratio(r.aggregateGenTps, p.aggregateGenTps) : ""];
    }),
  );
}

export function markdownReport(r: BenchResults, chartFile: string | null): string {
  const single = table(
    ["model", "workload", "system", "prompt tokens", "prompt tok/s", "gen tokens", "gen tok/s", "TTFT ms", "load s", "peak RSS MiB", "MLX peak MiB", "reps"],
    r.single.map((s) => [s.model, s.workload, label(s.system), String(s.promptTokens), range(s.promptTps), String(s.genTokens), range(s.genTps), range(s.ttftMs, 0), num(s.loadS, 2), num(s.rssPeakMiB, 0), num(s.mlxPeakMiB, 0), String(s.reps)]),
  );
  const errors = [...r.single, ...r.concurrency].filter((x) => x.error).map((x) => `- ${label(x.system)} (${x.model}): ${x.error}`);
  return [
    `# ollmlx side-by-side benchmark: ${r.date}, ${r.device}${r.smoke ? " (smoke run: figures are not meaningful)" : ""}`,
    "",
    `Machine: ${r.machine}. Generate ${r.genTokens} tokens, greedy; median (min–max) of up to ${r.reps} runs after a warm-up; run took ${num(r.durationS, 0)} s.`,
    `Models: ${r.models.map((m) => `${m.name} (GGUF \`${m.gguf}\`, MLX 4-bit \`${m.mlxDir}\`)`).join("; ")}. Workloads: ${r.workloads.map((w) => `${w.name} (${w.chars} chars)`).join(", ")}.`,
    "Prompt tok/s = prompt tokens / time to first token; gen tok/s = tokens after the first / their time (mlx-lm's formulas; HTTP systems measured on the client).",
    "Load: in-process systems, model load; servers, process start to the end of the first (warm-up) request. Peak RSS: the process doing the work (for `ollmlx serve`, its runner).",
    "",
    chartFile ? `![throughput chart](${chartFile})\n` : "",
    "## Single client",
    "",
    single,
    "",
    "## ollmlx / peer",
    "",
    "tok/s ratios above 1 and TTFT ratios below 1 mean ollmlx is faster.",
    "",
    ratioTable(ratioRows(r.single)),
    "",
    "## Concurrency",
    "",
    r.concurrency.length ? concurrencyTable(r.concurrency) : "(not run)",
    "",
    ...(errors.length ? ["## Errors", "", ...errors, ""] : []),
  ].join("\n");
}
