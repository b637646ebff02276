// One generation as the native routes see it: a prepared request (prepare.ts) run on its model, runner tokens
// turned into text deltas (with Ollama-shaped logprobs) and a final done_reason with nanosecond metrics.
import { elapsedNs, monotonicNs } from "../api/time.ts";
import type { GenerateParams, RunnerEvent } from "../engine/protocol.ts";
import type { Logprob, Metrics as WireMetrics, TokenLogprob } from "../schemas/index.ts";
import type { StoredModel } from "../store/store.ts";
import type { AppContext } from "./context.ts";

/** The final stats of a response (api.Metrics, durations in ns): all there, but the omitempty cached count. */
export type Metrics = Required<Omit<WireMetrics, "prompt_eval_cached_count">> & Pick<WireMetrics, "prompt_eval_cached_count">;

export type InferenceEvent =
  | { type: "delta"; text: string; logprobs?: Logprob[] }
  | {
      type: "done";
      doneReason: string;
      metrics: Metrics;
      /** prompt + generated token ids, when asked for */
      context?: number[];
      /** the stop string that ended it (Ollama's wire has no field for it; Anthropic's stop_sequence does) */
      stopSequence?: string;
    };

/** The model a request runs on and how long it stays loaded after (a PreparedRequest is one). */
export interface ModelUse {
  model: StoredModel;
  keepAliveMs: number | undefined;
}

/** An empty prompt: load the model (done_reason "load"), or with keep_alive 0 unload it ("unload"). */
export async function loadOrUnload(app: AppContext, prepared: ModelUse, signal?: AbortSignal): Promise<"load" | "unload"> {
  if (prepared.keepAliveMs === 0) {
    await app.scheduler.unload(prepared.model);
    return "unload";
  }
  const lease = await app.scheduler.acquire(prepared.model, { keepAliveMs: prepared.keepAliveMs, signal });
  lease.release();
  return "load";
}

const utf8 = new TextEncoder();

function tokenLogprob(text: string, logprob: number): TokenLogprob {
  return { token: text, logprob, bytes: [...utf8.encode(text)] };
}

/** A runner token → Ollama's logprob entry (the token's own text, its bytes, the alternatives best first). */
function logprobOf(event: Extract<RunnerEvent, { type: "token" }>, wantTop: boolean): Logprob[] | undefined {
  if (event.logprob === undefined) return undefined;
  const top = event.top ?? [];
  const text = top.find((t) => t.token === event.token)?.text ?? event.text;
  const entry: Logprob = tokenLogprob(text, event.logprob);
  if (wantTop && top.length > 0) {
    entry.top_logprobs = [...top].sort((a, b) => b.logprob - a.logprob).map((t) => tokenLogprob(t.text, t.logprob));
  }
  return [entry];
}

/** Runs one generation (prepare()'s params) on the model; the caller's early return (a client that went away) cancels it. */
export async function* infer(
  app: AppContext,
  prepared: ModelUse,
  params: GenerateParams,
  signal: AbortSignal | undefined,
  startNs: bigint = monotonicNs(),
): AsyncGenerator<InferenceEvent> {
  const lease = await app.scheduler.acquire(prepared.model, { keepAliveMs: prepared.keepAliveMs, signal });
  try {
    const wantTop = (params.options.top_logprobs ?? 0) > 0;
    for await (const event of lease.generate(params, signal)) {
      if (event.type === "token") {
        const logprobs = logprobOf(event, wantTop);
        if (event.text === "" && !logprobs) continue; // bytes of a character still pending
        yield logprobs ? { type: "delta", text: event.text, logprobs } : { type: "delta", text: event.text };
      } else if (event.type === "done") {
        // The runner is free: let the next request in (and apply keep_alive 0) before the client sees the end.
        lease.release();
        const s = event.summary;
        yield {
          type: "done",
          doneReason: event.reason === "cancelled" ? "" : event.reason,
          metrics: {
            total_duration: elapsedNs(startNs),
            load_duration: lease.loadDurationNs,
            prompt_eval_count: s?.promptTokens ?? 0,
            ...(s?.cachedTokens ? { prompt_eval_cached_count: s.cachedTokens } : {}),
            prompt_eval_duration: s?.promptNs ?? 0,
            eval_count: s?.generatedTokens ?? 0,
            eval_duration: s?.generateNs ?? 0,
          },
          ...(s?.context ? { context: s.context } : {}),
          ...(s?.stopSequence !== undefined ? { stopSequence: s.stopSequence } : {}),
        };
      }
    }
  } finally {
    lease.release();
  }
}
