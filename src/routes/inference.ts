// One generation as the native routes see it: options merged Ollama's way, the model scheduled, runner tokens
// turned into text deltas (with Ollama-shaped logprobs) and a final done_reason with nanosecond metrics.
import { CapabilityError, InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { parseKeepAlive } from "../api/duration.ts";
import { formatConstraint } from "../api/format.ts";
import { resolveOptions, type ModelOptions } from "../api/options.ts";
import { elapsedNs, monotonicNs } from "../api/time.ts";
import type { GenerateParams, OutputConstraint, RunnerEvent, SamplingParams } from "../engine/protocol.ts";
import type { GenerateRequest, inferenceFields, Logprob, Metrics as WireMetrics, TokenLogprob } from "../schemas/index.ts";
import type { StoredModel } from "../store/store.ts";
import type { AppContext } from "./context.ts";
import { capabilitiesOf, readModelLayers, type ModelLayers } from "./model-layers.ts";

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

/** Fields generate and chat share (schemas' inferenceFields), after their schemas accepted them. */
export type CommonFields = Omit<Pick<GenerateRequest, keyof typeof inferenceFields>, "stream" | "_debug_render_only">;

/** A request checked against what this server and the model can do; everything that can fail before loading. */
export interface Prepared {
  model: StoredModel;
  layers: ModelLayers;
  capabilities: string[];
  options: SamplingParams;
  keepAliveMs: number | undefined;
  templateKwargs: Record<string, unknown> | undefined;
  /** from `format`: enforced by constrained decoding */
  constraint: OutputConstraint | undefined;
  /** what a full context does: Ollama's `truncate` and `shift`, only when set to false (both default true) */
  context: Pick<GenerateParams, "truncate" | "shift">;
}

/** `use` names the route and the model as the client wrote it, for Ollama's `"NAME" does not support chat`. */
export function prepare(model: StoredModel, app: AppContext, body: CommonFields, use: { route: "generate" | "chat"; name: string }): Prepared {
  const keepAliveMs = parseKeepAlive(body.keep_alive);
  const constraint = formatConstraint(body.format);
  const topLogprobs = body.top_logprobs ?? 0;
  if (topLogprobs < 0 || topLogprobs > 20) throw new InvalidRequestError(MESSAGES.topLogprobsRange);
  const layers = readModelLayers(app.store, model);
  const capabilities = capabilitiesOf(model, layers);
  // an embedding model (Ollama's errCapabilityCompletion, answered by GenerateHandler/ChatHandler)
  if (!capabilities.includes("completion")) throw new InvalidRequestError(`${JSON.stringify(use.name)} does not support ${use.route}`);
  const merged = resolveOptions({ model: layers.params, request: body.options });
  const options = samplingParams(merged, body.logprobs === true, topLogprobs);

  let templateKwargs: Record<string, unknown> | undefined;
  const think = body.think;
  if (capabilities.includes("thinking")) {
    // Ollama turns thinking on for thinking models when the request leaves it unset, with a format too: the thought
    // is free and the answer constrained (Ollama in two passes, here in one: constrain/thinking-gate.ts).
    const enabled = think === undefined || think === null ? true : think !== false;
    templateKwargs = { enable_thinking: enabled };
    if (typeof think === "string") templateKwargs.reasoning_effort = think;
  } else if (think !== undefined && think !== null && think !== false) {
    throw CapabilityError.quoted(model.display, "thinking");
  }
  const context = { ...(body.truncate === false ? { truncate: false } : {}), ...(body.shift === false ? { shift: false } : {}) };
  return { model, layers, capabilities, options, keepAliveMs, templateKwargs, constraint, context };
}

function samplingParams(o: ModelOptions, logprobs: boolean, topLogprobs: number): SamplingParams {
  return {
    temperature: o.temperature,
    top_k: o.top_k,
    top_p: o.top_p,
    min_p: o.min_p,
    repeat_penalty: o.repeat_penalty,
    repeat_last_n: o.repeat_last_n,
    presence_penalty: o.presence_penalty,
    frequency_penalty: o.frequency_penalty,
    seed: o.seed,
    num_predict: o.num_predict,
    num_ctx: o.num_ctx,
    num_keep: o.num_keep,
    stop: o.stop,
    ...(logprobs ? { logprobs: true, top_logprobs: topLogprobs } : {}),
  };
}

/** An empty prompt: load the model (done_reason "load"), or with keep_alive 0 unload it ("unload"). */
export async function loadOrUnload(app: AppContext, prepared: Prepared, signal?: AbortSignal): Promise<"load" | "unload"> {
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

/** Runs one generation on the model; the caller's early return (a client that went away) cancels it. */
export async function* infer(
  app: AppContext,
  prepared: Prepared,
  input: Omit<GenerateParams, "options" | "templateKwargs">,
  signal: AbortSignal | undefined,
  startNs: bigint = monotonicNs(),
): AsyncGenerator<InferenceEvent> {
  const lease = await app.scheduler.acquire(prepared.model, { keepAliveMs: prepared.keepAliveMs, signal });
  try {
    const params: GenerateParams = { ...input, ...prepared.context, options: prepared.options };
    if (prepared.templateKwargs) params.templateKwargs = prepared.templateKwargs;
    if (prepared.constraint && !params.constraint) params.constraint = prepared.constraint;
    const wantTop = (prepared.options.top_logprobs ?? 0) > 0;
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
