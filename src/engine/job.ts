// What a runner job sees of the runner: its context (cancel, emit, yield) and the error that answers the request
// with a status. A leaf, so that jobs (serve-model, serve-embed, selftest, train/) need not import runner.ts.
import type { RunnerEvent } from "./protocol.ts";

export interface JobContext {
  /** True once the server cancelled this request. */
  cancelled(): boolean;
  emit(event: RunnerEvent): void;
  /** Lets queued IPC messages (cancel, stats) in; call between steps. */
  yieldToLoop(): Promise<void>;
}

export class RequestError extends Error {
  override name = "RequestError";
  /** the HTTP status the server answers with (default 500, as Ollama answers a runner's errors) */
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}
