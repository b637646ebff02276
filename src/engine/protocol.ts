// The typed protocol between the server and a runner process, carried over Bun's IPC channel (JSON messages).
// Requests carry an id chosen by the server; every event names the request it belongs to.
// A request ends with exactly one terminal event: "done", "error", or the answer of a one-shot request
// ("loaded" for load, "stats" for stats).

export type RunnerRequest =
  | { op: "selftest"; id: number; steps: number; size: number; fail?: "mlx" }
  | { op: "load"; id: number; model: ModelSpec }
  | { op: "generate"; id: number; params: GenerateParams }
  | { op: "cancel"; id: number; target: number }
  | { op: "stats"; id: number }
  | { op: "unload"; id: number };

/** What to load: a model directory in the mlx-community layout, or a GGUF file. */
export interface ModelSpec {
  name: string;
  format: "mlx" | "gguf";
  path: string;
}

/** One generation, already tokenized by nobody: the runner owns the tokenizer of its model. */
export interface GenerateParams {
  prompt: string;
  options: Record<string, unknown>;
}

export interface RunnerStats {
  pid: number;
  mlxVersion: string;
  activeMemory: number;
  peakMemory: number;
  cacheMemory: number;
  liveHandles: number;
  model: string | null;
}

export type RunnerEvent =
  | { type: "ready"; pid: number; mlxVersion: string }
  | { type: "step"; id: number; index: number; value: number }
  | { type: "token"; id: number; text: string; token: number }
  | { type: "loaded"; id: number; loadDurationNs: number }
  | { type: "stats"; id: number; stats: RunnerStats }
  | { type: "done"; id: number; reason: DoneReason; data?: Record<string, unknown> }
  | { type: "error"; id: number; message: string; kind: "mlx" | "request" | "internal" };

export type DoneReason = "stop" | "length" | "cancelled" | "ok";

export function isTerminal(e: RunnerEvent): boolean {
  return e.type === "done" || e.type === "error" || e.type === "stats" || e.type === "loaded";
}
