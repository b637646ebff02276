// OpenAI Responses bodies (POST /v1/responses, GET /v1/responses/{id}), as OpenAI's API reference defines them and
// Ollama's openai/responses.go accepts them. Input items are checked by `type` while converting (src/api/responses.ts).
import { t, type Static } from "elysia";
import { Int, Omittable } from "./go-json.ts";

/** An input item: a message (role + content), function_call, function_call_output or reasoning. */
export const ResponsesInputItem = t.Object(
  {
    type: t.Optional(t.String({ description: '"message" (the default when role is set), "function_call", "function_call_output" or "reasoning"' })),
    role: t.Optional(t.String({ description: "user, system, developer or assistant" })),
    content: t.Optional(t.Union([t.String(), t.Array(t.Record(t.String(), t.Unknown()))])),
    call_id: t.Optional(t.String()),
    name: t.Optional(t.String()),
    arguments: t.Optional(t.String({ description: "function_call: the arguments as a JSON text" })),
    output: t.Optional(t.Unknown({ description: "function_call_output: a string or input_text parts" })),
    summary: t.Optional(t.Array(t.Record(t.String(), t.Unknown()))),
  },
  { additionalProperties: true },
);

export const ResponsesTool = t.Object(
  {
    type: t.String({ description: 'only "function" runs here' }),
    name: t.Optional(t.String()),
    description: Omittable(t.String()),
    parameters: Omittable(t.Record(t.String(), t.Unknown())),
    strict: Omittable(t.Boolean()),
  },
  { additionalProperties: true },
);

export const ResponsesToolChoice = t.Union([
  t.Literal("none"),
  t.Literal("auto"),
  t.Literal("required"),
  t.Object({ type: t.Literal("function"), name: t.String() }),
], { error: 'tool_choice must be "none", "auto", "required" or {"type": "function", "name": "..."}' });

export const ResponsesTextFormat = t.Object(
  {
    type: t.Union([t.Literal("text"), t.Literal("json_object"), t.Literal("json_schema")], { error: 'text.format.type must be "text", "json_object" or "json_schema"' }),
    name: t.Optional(t.String()),
    schema: t.Optional(t.Record(t.String(), t.Unknown())),
    strict: Omittable(t.Boolean()),
    description: t.Optional(t.String()),
  },
  { additionalProperties: true },
);

export const ResponsesRequest = t.Object(
  {
    model: t.String({ error: "model is required" }),
    input: t.Union([t.String(), t.Array(ResponsesInputItem)], { error: "input must be a string or a list of input items" }),
    instructions: Omittable(t.String({ description: "a system message; not carried over from previous_response_id" })),
    previous_response_id: Omittable(t.String({ description: "continue a stored response (kept in memory, the most recent ones)" })),
    store: Omittable(t.Boolean({ description: "default true: keep the response for GET and previous_response_id" })),
    stream: Omittable(t.Boolean()),
    tools: Omittable(t.Array(ResponsesTool)),
    tool_choice: Omittable(ResponsesToolChoice),
    parallel_tool_calls: Omittable(t.Boolean()),
    text: Omittable(t.Object({ format: Omittable(ResponsesTextFormat), verbosity: Omittable(t.String()) }, { additionalProperties: true })),
    reasoning: Omittable(t.Object({ effort: Omittable(t.String()), summary: Omittable(t.String()) }, { additionalProperties: true })),
    max_output_tokens: Omittable(Int({ minimum: 1, error: "max_output_tokens must be an integer of at least 1" })),
    temperature: Omittable(t.Number({ description: "default 1.0" })),
    top_p: Omittable(t.Number({ description: "default 1.0" })),
    metadata: Omittable(t.Record(t.String(), t.String())),
    truncation: Omittable(t.String()),
    user: Omittable(t.String()),
  },
  { title: "ResponsesRequest", additionalProperties: true },
);

const OutputText = t.Object({ type: t.Literal("output_text"), text: t.String(), annotations: t.Array(t.Unknown()), logprobs: t.Array(t.Unknown()) });

export const ResponsesOutputItem = t.Union([
  t.Object({ type: t.Literal("message"), id: t.String(), status: t.String(), role: t.Literal("assistant"), content: t.Array(OutputText) }),
  t.Object({ type: t.Literal("function_call"), id: t.String(), call_id: t.String(), name: t.String(), arguments: t.String(), status: t.String() }),
  t.Object({ type: t.Literal("reasoning"), id: t.String(), summary: t.Array(t.Object({ type: t.Literal("summary_text"), text: t.String() })) }),
]);

export const ResponsesUsage = t.Object({
  input_tokens: Int(),
  input_tokens_details: t.Object({ cached_tokens: Int() }),
  output_tokens: Int(),
  output_tokens_details: t.Object({ reasoning_tokens: Int() }),
  total_tokens: Int(),
});

export const ResponseObject = t.Object(
  {
    id: t.String({ description: '"resp_" + 24 characters' }),
    object: t.Literal("response"),
    created_at: Int(),
    completed_at: t.Union([Int(), t.Null()]),
    status: t.String({ description: '"completed", or "incomplete" when max_output_tokens ran out' }),
    incomplete_details: t.Union([t.Object({ reason: t.String() }), t.Null()]),
    error: t.Null(),
    model: t.String(),
    output: t.Array(ResponsesOutputItem),
    usage: t.Union([ResponsesUsage, t.Null()]),
    instructions: t.Union([t.String(), t.Null()]),
    previous_response_id: t.Union([t.String(), t.Null()]),
    store: t.Boolean(),
    max_output_tokens: t.Union([Int(), t.Null()]),
    temperature: t.Number(),
    top_p: t.Number(),
    tool_choice: t.Unknown(),
    tools: t.Array(t.Unknown()),
    parallel_tool_calls: t.Boolean(),
    text: t.Unknown(),
    reasoning: t.Unknown(),
    truncation: t.String(),
    metadata: t.Record(t.String(), t.String()),
  },
  { title: "Response", description: "stream:true answers with typed SSE events (response.created … response.completed) instead" },
);

export type ResponsesInputItem = Static<typeof ResponsesInputItem>;
export type ResponsesRequest = Static<typeof ResponsesRequest>;
export type ResponsesOutputItem = Static<typeof ResponsesOutputItem>;
export type ResponseObject = Static<typeof ResponseObject>;
export type ResponsesUsage = Static<typeof ResponsesUsage>;
