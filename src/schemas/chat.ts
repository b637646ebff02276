// POST /api/chat (api.ChatRequest / api.ChatResponse; handler server/routes.go ChatHandler).
import { t, type Static } from "elysia";
import { Omittable } from "./go-json.ts";
import { DebugInfo, DoneReason, Logprob, Message, ResponseMessage, Timestamp, Tool, metricsFields } from "./common.ts";
import { inferenceFields } from "./generate.ts";

/**
 * tool_choice (OpenAI's shape; on /api/chat an ollmlx extension, Ollama ignores it): "auto" (the default) lets the
 * model choose, "none" hides the tools, "required" or a named function force one call by constrained decoding.
 */
export const ToolChoice = t.Union(
  [
    t.Literal("none"),
    t.Literal("auto"),
    t.Literal("required"),
    t.Object({ type: t.Literal("function"), function: t.Object({ name: t.String() }) }),
  ],
  {
    description:
      'ollmlx extension on /api/chat (as on /v1): "auto" (default), "none" (tools hidden from the model), "required" or ' +
      '{"type":"function","function":{"name"}} (one call forced by constrained decoding)',
    error: 'tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": "..."}}',
  },
);

export const ChatRequest = t.Object(
  {
    model: t.String({ error: "model is required" }),
    messages: Omittable(t.Array(Message), { description: "empty: load the model (with keep_alive 0: unload it)" }),
    tools: Omittable(t.Array(Tool)),
    tool_choice: Omittable(ToolChoice),
    ...inferenceFields,
  },
  { title: "ChatRequest" },
);

/** One NDJSON chunk, or the whole non-streamed response; the final chunk has empty content and the metrics. */
export const ChatResponse = t.Object(
  {
    model: t.String(),
    remote_model: t.Optional(t.String()),
    remote_host: t.Optional(t.String()),
    created_at: Timestamp,
    message: ResponseMessage,
    done: t.Boolean(),
    done_reason: t.Optional(DoneReason),
    _debug_info: t.Optional(DebugInfo),
    logprobs: t.Optional(t.Array(Logprob)),
    ...metricsFields,
  },
  { title: "ChatResponse" },
);

export type ChatRequest = Static<typeof ChatRequest>;
export type ChatResponse = Static<typeof ChatResponse>;
export type ToolChoice = Static<typeof ToolChoice>;
