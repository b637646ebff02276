// What every system reports, whatever its language: the single-client worker protocol (one JSON line on stdout)
// and the result records that the report, chart and README table are made from.
import type { Spread } from "./stats.ts";

/** One timed generation. Rates follow mlx-lm: prompt tokens / time to first token; tokens after it / their time. */
export interface Sample {
  promptTokens: number;
  genTokens: number;
  ttftMs: number;
  promptTps: number;
  genTps: number;
}

/** A worker's answer for one model: samples per workload (warm-up excluded) and the process's memory. */
export interface WorkerReport {
  loadS: number;
  /** peak resident set of the process doing the work (MiB) */
  rssPeakMiB: number;
  /** MLX's own allocator figures, where the system exposes them (MiB) */
  mlxActiveMiB?: number;
  mlxPeakMiB?: number;
  workloads: Record<string, Sample[]>;
}

export type SystemId = "ollmlx-engine" | "ollmlx-engine-gguf" | "ollmlx-http" | "mlx-lm" | "llama.cpp" | "mlx_lm.server";

export const SYSTEM_LABELS: Record<SystemId, string> = {
  "ollmlx-engine": "ollmlx engine (MLX 4-bit)",
  "ollmlx-engine-gguf": "ollmlx engine (GGUF)",
  "ollmlx-http": "ollmlx serve /api/generate",
  "mlx-lm": "mlx-lm Python API",
  "llama.cpp": "llama.cpp (node-llama-cpp, GGUF)",
  "mlx_lm.server": "mlx_lm.server /v1/completions",
};

/** The peer each ollmlx system is compared with (ratio = ollmlx / peer). */
export const PEER_OF: Partial<Record<SystemId, SystemId>> = {
  "ollmlx-engine": "mlx-lm",
  "ollmlx-engine-gguf": "llama.cpp",
  "ollmlx-http": "mlx_lm.server",
};

export interface SingleRow {
  system: SystemId;
  model: string;
  workload: string;
  promptTokens: number;
  genTokens: number;
  promptTps: Spread;
  genTps: Spread;
  ttftMs: Spread;
  loadS: number;
  rssPeakMiB: number;
  mlxActiveMiB?: number;
  mlxPeakMiB?: number;
  reps: number;
  error?: string;
}

export interface ConcurrencyRow {
  system: SystemId;
  model: string;
  clients: number;
  aggregateGenTps: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
  genTokens: number;
  wallS: number;
  error?: string;
}

export interface BenchResults {
  date: string;
  device: string;
  machine: string;
  smoke: boolean;
  genTokens: number;
  reps: number;
  models: { name: string; gguf: string; mlxDir: string }[];
  workloads: { name: string; chars: number }[];
  /** display names, for the chart */
  systemLabels: Record<SystemId, string>;
  single: SingleRow[];
  concurrency: ConcurrencyRow[];
  durationS: number;
}
