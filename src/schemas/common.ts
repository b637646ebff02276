// Pieces shared by Ollama's native bodies (api/types.go): keep_alive, think, format, images, tools, messages,
// logprobs, metrics, model details. Request fields are lenient like Go's decoder (unknown keys and nulls ignored).
import { t, type Static, type ElysiaTypeCustomErrorCallback } from "elysia";
import { Kind, Type, TypeRegistry, type TObject } from "@sinclair/typebox";
import { Int, Omittable, goQuote } from "./go-json.ts";

/**
 * A custom validation message computed from the offending value. Elysia hands the callback the whole body and
 * its checker; the first error is the one at this field (that is how Elysia chose this schema's `error`).
 */
export function errorFromValue(message: (value: unknown) => string): ElysiaTypeCustomErrorCallback {
  return (detail, validator) => {
    const first = validator?.Errors(detail.found).First();
    return message(first ? first.value : detail.value);
  };
}

/** keep_alive: a Go duration string ("5m", "1h30m", "-1s") or a number of seconds; parsed by src/api/duration.ts. */
export const KeepAlive = t.Union([t.String(), t.Number()], {
  description: 'Go duration string ("5m", "1h30m") or seconds; negative keeps the model loaded forever, 0 unloads it',
  examples: ["5m", 300, -1, 0],
  error: errorFromValue((value) => `Unsupported type: '${goReflectType(value)}'`),
});

/** reflect.TypeOf(v) for a value json.Unmarshal put into `any`, as api.Duration's error prints it. */
function goReflectType(value: unknown): string {
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return "[]interface {}";
  if (value && typeof value === "object") return "map[string]interface {}";
  return typeof value;
}

/** think: a bool, or a level; any other string is rejected with ThinkValue.UnmarshalJSON's message. */
export const ThinkLevel = t.Union([t.Literal("low"), t.Literal("medium"), t.Literal("high"), t.Literal("max")]);
export const Think = t.Union([t.Boolean(), ThinkLevel], {
  description: 'true/false, or a thinking level: "low", "medium", "high", "max" (true means "medium")',
  error: errorFromValue((value) =>
    typeof value === "string"
      ? `invalid think value: ${goQuote(value)} (must be "high", "medium", "low", "max", true, or false)`
      : 'think must be a boolean or string ("high", "medium", "low", "max", true, or false)',
  ),
});

/** format: "json" for any JSON, or a JSON schema object; "" and null mean unconstrained (llm/llama_server.go). */
export const JsonSchemaObject = t.Record(t.String(), t.Unknown(), { description: "A JSON schema the output must match" });
/**
 * A kind of its own, not a union: Elysia's body normalizer (exact-mirror) reshapes a value toward a union's
 * object member before validating, which turned "xml" into {"0": "x", ...} and 5 into {} instead of rejecting
 * them. The check is registered with TypeBox; api/format.ts then validates the schema itself.
 */
TypeRegistry.Set("OllamaFormat", (_schema, value) => value === "json" || value === "" || (typeof value === "object" && value !== null && !Array.isArray(value)));
export const Format = Type.Unsafe<"json" | "" | Record<string, unknown>>({
  [Kind]: "OllamaFormat",
  description: '"json", or a JSON schema object ("" or null: unconstrained)',
  examples: ["json", { type: "object", properties: { name: { type: "string" } }, required: ["name"] }],
  error: errorFromValue(
    (value) => `invalid format: ${goQuote(JSON.stringify(value))}; expected "json" or a valid JSON Schema object`,
  ),
});

/** images: base64 strings (Go's []byte JSON encoding). */
export const Images = t.Array(t.String({ description: "base64-encoded image (or audio) bytes" }));

/** Tool call arguments: a JSON object whose key order is kept (internal/orderedmap). */
export const ToolCallArguments = t.Record(t.String(), t.Unknown());

export const ToolCall = t.Object({
  id: t.Optional(t.String({ description: 'server-assigned "call_" + 8 random [a-z0-9]' })),
  function: t.Object({
    index: t.Optional(Int()),
    name: t.String(),
    arguments: ToolCallArguments,
  }),
});

/**
 * A JSON-schema property of a tool's parameters (api.ToolProperty). Nested schemas (items, anyOf, properties)
 * are passed through untouched to the template, so they are left open here.
 */
export const ToolProperty = t.Object({
  type: t.Optional(t.Union([t.String(), t.Array(t.String())])),
  description: t.Optional(t.String()),
  enum: t.Optional(t.Array(t.Unknown())),
  items: t.Optional(t.Unknown()),
  anyOf: t.Optional(t.Array(t.Unknown())),
  properties: t.Optional(t.Record(t.String(), t.Unknown())),
  required: t.Optional(t.Array(t.String())),
});

export const ToolFunctionParameters = t.Object({
  type: t.String({ default: "object" }),
  $defs: t.Optional(t.Unknown()),
  items: t.Optional(t.Unknown()),
  required: Omittable(t.Array(t.String())),
  properties: Omittable(t.Record(t.String(), ToolProperty)),
});

export const Tool = t.Object({
  type: t.String({ default: "function" }),
  items: t.Optional(t.Unknown()),
  function: t.Object({
    name: t.String(),
    description: t.Optional(t.String()),
    parameters: ToolFunctionParameters,
  }),
});

/** A chat message (api.Message); Ollama lower-cases the role on decode (normalizeRoles in src/api/messages.ts). */
export const Message = t.Object(
  {
    role: t.String({ description: "system, user, assistant or tool" }),
    content: Omittable(t.String()),
    thinking: Omittable(t.String()),
    images: Omittable(Images),
    tool_calls: Omittable(t.Array(ToolCall)),
    tool_name: Omittable(t.String()),
    tool_call_id: Omittable(t.String()),
  },
  { title: "Message" },
);

/** The assistant message in a chat response: omitempty fields are optional. */
export const ResponseMessage = t.Object({
  role: t.String(),
  content: t.String(),
  thinking: t.Optional(t.String()),
  images: t.Optional(t.Union([Images, t.Null()], { description: "older servers sent null" })),
  tool_calls: t.Optional(t.Array(ToolCall)),
  tool_name: t.Optional(t.String()),
  tool_call_id: t.Optional(t.String()),
});

export const TokenLogprob = t.Object({
  token: t.String(),
  logprob: t.Number(),
  bytes: t.Optional(t.Array(Int())),
});

export const Logprob = t.Object({
  token: t.String(),
  logprob: t.Number(),
  bytes: t.Optional(t.Array(Int())),
  top_logprobs: t.Optional(t.Array(TokenLogprob)),
});

/** The stats on a final chunk (api.Metrics); all omitempty, so a load/unload response has none. Durations in ns. */
export const metricsFields = {
  total_duration: t.Optional(Int({ description: "nanoseconds" })),
  load_duration: t.Optional(Int({ description: "nanoseconds" })),
  prompt_eval_count: t.Optional(Int()),
  prompt_eval_cached_count: t.Optional(Int({ description: "of prompt_eval_count, the tokens read from the prefix cache" })),
  prompt_eval_duration: t.Optional(Int({ description: "nanoseconds" })),
  eval_count: t.Optional(Int()),
  eval_duration: t.Optional(Int({ description: "nanoseconds" })),
};

export const DebugInfo = t.Object({
  rendered_template: t.String(),
  image_count: t.Optional(Int()),
});

export const DoneReason = t.String({ description: '"stop", "length", "load", "unload", or "" when the client went away' });

/** details in tags/ps/show (api.ModelDetails); `families` is a Go slice without omitempty, so it may be null. */
export const ModelDetails = t.Object({
  parent_model: t.String(),
  format: t.String({ description: '"gguf" or "safetensors"' }),
  family: t.String(),
  families: t.Union([t.Array(t.String()), t.Null()]),
  parameter_size: t.String({ examples: ["8.0B"] }),
  quantization_level: t.String({ examples: ["Q4_K_M", "nvfp4"] }),
  context_length: t.Optional(Int()),
  embedding_length: t.Optional(Int()),
});

export const Capability = t.String({
  description: "completion, tools, insert, vision, embedding, thinking, image, audio",
});

/** RFC3339Nano timestamp as Go prints it (src/api/time.ts). */
export const Timestamp = t.String({ description: "RFC3339 with up to nanosecond precision", examples: ["2023-08-04T19:22:45.499127Z"] });

/** Every error body on the native API. */
export const ErrorResponse = t.Object({ error: t.String() }, { title: "ErrorResponse" });

export type KeepAlive = Static<typeof KeepAlive>;
export type Think = Static<typeof Think>;
export type ThinkLevel = Static<typeof ThinkLevel>;
export type Format = Static<typeof Format>;
export type ToolCall = Static<typeof ToolCall>;
export type Tool = Static<typeof Tool>;
export type Message = Static<typeof Message>;
export type ResponseMessage = Static<typeof ResponseMessage>;
export type Logprob = Static<typeof Logprob>;
export type TokenLogprob = Static<typeof TokenLogprob>;
export type ModelDetails = Static<typeof ModelDetails>;
export type ErrorResponse = Static<typeof ErrorResponse>;
/** api.Metrics: the stats fields of a final generate/chat/embed chunk. */
export type Metrics = Static<TObject<typeof metricsFields>>;
