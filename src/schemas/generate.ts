// POST /api/generate (api.GenerateRequest / api.GenerateResponse; handler server/routes.go GenerateHandler).
import { t, type Static } from "elysia";
import { Int, Omittable } from "./go-json.ts";
import { DebugInfo, DoneReason, Format, Images, KeepAlive, Logprob, Think, Timestamp, ToolCall, metricsFields } from "./common.ts";
import { Options } from "./options.ts";

/** Fields generate and chat share, after model and the prompt/messages. */
export const inferenceFields = {
  stream: Omittable(t.Boolean(), { description: "default true: NDJSON chunks; false: one JSON object" }),
  format: Omittable(Format),
  keep_alive: Omittable(KeepAlive),
  options: Omittable(Options),
  think: Omittable(Think),
  truncate: Omittable(t.Boolean(), { description: "default true: drop the oldest history to fit num_ctx" }),
  shift: Omittable(t.Boolean(), { description: "default true: shift the context when it fills" }),
  logprobs: Omittable(t.Boolean()),
  top_logprobs: Omittable(Int({ description: "0-20; needs logprobs" })),
  _debug_render_only: Omittable(t.Boolean({ description: "return the rendered prompt without running the model" })),
};

export const GenerateRequest = t.Object(
  {
    // Ollama answers a missing model with 404 "model '' not found" (routes.go GenerateHandler)
    model: t.String({ description: 'model name, e.g. "llama3.2" or "qwen3:8b"', error: "model '' not found", "x-error-status": 404 }),
    prompt: Omittable(t.String({ description: "empty: load the model and return done_reason \"load\"" })),
    suffix: Omittable(t.String({ description: "text after the insertion (fill-in-the-middle)" })),
    system: Omittable(t.String()),
    template: Omittable(t.String()),
    context: Omittable(t.Array(Int()), { description: "deprecated: tokens from a previous response" }),
    raw: Omittable(t.Boolean({ description: "no templating; incompatible with template, system, context" })),
    images: Omittable(Images),
    ...inferenceFields,
  },
  { title: "GenerateRequest" },
);

/** One NDJSON chunk, or the whole non-streamed response; the final chunk carries done_reason, context and metrics. */
export const GenerateResponse = t.Object(
  {
    model: t.String(),
    remote_model: t.Optional(t.String()),
    remote_host: t.Optional(t.String()),
    created_at: Timestamp,
    response: t.String(),
    thinking: t.Optional(t.String()),
    done: t.Boolean(),
    done_reason: t.Optional(DoneReason),
    context: t.Optional(t.Array(Int())),
    ...metricsFields,
    tool_calls: t.Optional(t.Array(ToolCall)),
    _debug_info: t.Optional(DebugInfo),
    logprobs: t.Optional(t.Array(Logprob)),
  },
  { title: "GenerateResponse" },
);

export type GenerateRequest = Static<typeof GenerateRequest>;
export type GenerateResponse = Static<typeof GenerateResponse>;
