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

/**
 * The request itself is at fault (a prompt too long with truncate false, a format the engine cannot enforce): the
 * server answers 400 unless `status` names another (scheduler/runner-process.ts runnerErrorStatus). Anything else a
 * job throws is the runner's own failure: a 500 with its message, as Ollama answers a runner's errors.
 */
export class RequestError extends Error {
  override name = "RequestError";
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}
