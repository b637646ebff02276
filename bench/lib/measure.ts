// Turning runs into rows: the single-client samples of a server (same warm-up and budget rules as the workers),
// the concurrency sweep, and the summary of a worker's samples.
import type { RunningServer } from "./servers.ts";
import { percentile, spread } from "./stats.ts";
import type { ConcurrencyRow, Sample, SingleRow, SystemId, WorkerReport } from "./types.ts";
import { tagged, type Workload } from "./workloads.ts";

/** Single-client samples against a started server; load = start of the server → end of the warm-up request. */
export async function serverReport(server: RunningServer, startedAt: number, prompts: Workload[], gen: number, reps: number, budgetS: number): Promise<WorkerReport> {
  await server.generate(tagged(prompts[0]!.text, 99), 16); // warm-up (and, for ollmlx, the runner's model load)
  const loadS = (performance.now() - startedAt) / 1000;
  const workloads: Record<string, Sample[]> = {};
  for (const w of prompts) {
    const samples: Sample[] = [];
    const started = performance.now();
    for (let i = 0; i < reps && (i === 0 || performance.now() - started < budgetS * 1000); i++) samples.push(await server.generate(tagged(w.text, i), gen));
    workloads[w.name] = samples;
  }
  return { loadS, rssPeakMiB: server.peakRssMiB(), workloads };
}

/** N clients at once, each with its own prompt (so no prompt cache is shared): aggregate tokens/s and TTFTs. */
export async function concurrencyRows(system: SystemId, model: string, server: RunningServer, text: string, gen: number, levels: number[]): Promise<ConcurrencyRow[]> {
  const rows: ConcurrencyRow[] = [];
  for (const clients of levels) {
    const t0 = performance.now();
    try {
      const samples = await Promise.all(Array.from({ length: clients }, (_, i) => server.generate(tagged(text, 1000 * clients + i), gen)));
      const wallS = (performance.now() - t0) / 1000;
      const genTokens = samples.reduce((n, s) => n + s.genTokens, 0);
      const ttfts = samples.map((s) => s.ttftMs);
      rows.push({ system, model, clients, aggregateGenTps: genTokens / wallS, ttftP50Ms: percentile(ttfts, 0.5), ttftP95Ms: percentile(ttfts, 0.95), genTokens, wallS });
    } catch (e) {
      rows.push({ system, model, clients, aggregateGenTps: Number.NaN, ttftP50Ms: Number.NaN, ttftP95Ms: Number.NaN, genTokens: 0, wallS: 0, error: String(e) });
    }
  }
  return rows;
}

export function singleRows(system: SystemId, model: string, prompts: Workload[], r: WorkerReport): SingleRow[] {
  return prompts.map((w) => {
    const s = r.workloads[w.name] ?? [];
    return {
      system,
      model,
      workload: w.name,
      promptTokens: s[0]?.promptTokens ?? 0,
      genTokens: s[0]?.genTokens ?? 0,
      promptTps: spread(s.map((x) => x.promptTps)),
      genTps: spread(s.map((x) => x.genTps)),
      ttftMs: spread(s.map((x) => x.ttftMs)),
      loadS: r.loadS,
      rssPeakMiB: r.rssPeakMiB,
      mlxActiveMiB: r.mlxActiveMiB,
      mlxPeakMiB: r.mlxPeakMiB,
      reps: s.length,
    };
  });
}

export function failedRows(system: SystemId, model: string, prompts: Workload[], error: unknown): SingleRow[] {
  const nan = { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const message = error instanceof Error ? error.message : String(error);
  return prompts.map((w) => ({ system, model, workload: w.name, promptTokens: 0, genTokens: 0, promptTps: nan, genTps: nan, ttftMs: nan, loadS: Number.NaN, rssPeakMiB: Number.NaN, reps: 0, error: message }));
}
