// Anthropic Messages bodies (POST /v1/messages, /v1/messages/count_tokens), as Anthropic's API reference defines
// them; Ollama's anthropic/anthropic.go converts the same fields. Blocks are validated by their `type` while
// converting (src/api/anthropic.ts), so an unknown or unsupported block gets a message that names it.
import { t, type Static } from "elysia";
import { Int, Omittable } from "./go-json.ts";

/** A content block as a client sends it: text, image, tool_use, tool_result, thinking (extra keys such as cache_control pass). */
export const AnthropicContentBlock = t.Object(
  {
    type: t.String({ description: '"text", "image", "tool_use", "tool_result", "thinking" or "redacted_thinking"' }),
    text: t.Optional(t.String()),
    thinking: t.Optional(t.String()),
    signature: t.Optional(t.String()),
    id: t.Optional(t.String()),
    name: t.Optional(t.String()),
    input: t.Optional(t.Unknown({ description: "tool_use: the arguments, a JSON object" })),
    tool_use_id: t.Optional(t.String()),
    content: t.Optional(t.Unknown({ description: "tool_result: a string or text blocks" })),
    is_error: t.Optional(t.Boolean()),
    source: t.Optional(t.Unknown()),
  },
  { additionalProperties: true },
);

export const AnthropicMessage = t.Object({
  role: t.Union([t.Literal("user"), t.Literal("assistant")], { error: 'messages: role must be "user" or "assistant"' }),
  content: t.Union([t.String(), t.Array(AnthropicContentBlock)], { error: "messages: content must be a string or a list of content blocks" }),
});

export const AnthropicTool = t.Object(
  {
    name: t.String(),
    description: t.Optional(t.String()),
    input_schema: t.Record(t.String(), t.Unknown(), { description: "a JSON schema, type object" }),
    type: Omittable(t.String({ description: '"custom" or absent; server tools are refused' })),
  },
  { additionalProperties: true },
);

export const AnthropicToolChoice = t.Object(
  {
    type: t.Union([t.Literal("auto"), t.Literal("any"), t.Literal("tool"), t.Literal("none")], {
      error: 'tool_choice.type must be "auto", "any", "tool" or "none"',
    }),
    name: t.Optional(t.String({ description: 'with type "tool": the tool to call' })),
    disable_parallel_tool_use: t.Optional(t.Boolean()),
  },
  { description: "any and tool force one call by constrained decoding; none keeps the tools out of the prompt" },
);

export const AnthropicThinking = t.Object({
  type: t.Union([t.Literal("enabled"), t.Literal("disabled"), t.Literal("adaptive"), t.Literal("between_tools")], {
    error: 'thinking.type must be "enabled", "disabled", "adaptive" or "between_tools"',
  }),
  budget_tokens: t.Optional(Int({ minimum: 1, description: "the most tokens the thought may take: the engine closes it there" })),
});

/** effort sets a thinking model's level; format constrains the text to a JSON schema (constrained decoding). */
export const AnthropicOutputConfig = t.Object(
  {
    effort: Omittable(t.String({ description: "low, medium, high, xhigh or max" })),
    format: Omittable(t.Object({ type: t.Literal("json_schema"), schema: t.Record(t.String(), t.Unknown()) })),
  },
  { additionalProperties: true },
);

const System = t.Union([t.String(), t.Array(t.Object({ type: t.Literal("text"), text: t.String() }, { additionalProperties: true }))], {
  error: "system must be a string or a list of text blocks",
});

/** What a prompt is made of: shared by /v1/messages and count_tokens. */
const promptFields = {
  model: t.String({ error: "model: field required" }),
  messages: t.Array(AnthropicMessage, { error: "messages: field required, a list of messages" }),
  system: t.Optional(System),
  tools: t.Optional(t.Array(AnthropicTool)),
  tool_choice: t.Optional(AnthropicToolChoice),
  thinking: t.Optional(AnthropicThinking),
  output_config: t.Optional(AnthropicOutputConfig),
};

export const AnthropicMessagesRequest = t.Object(
  {
    ...promptFields,
    max_tokens: Int({ minimum: 1, error: "max_tokens: field required, an integer of at least 1" }),
    stream: t.Optional(t.Boolean()),
    stop_sequences: t.Optional(t.Array(t.String())),
    temperature: t.Optional(t.Number({ minimum: 0, maximum: 1, description: "default 1.0", error: "temperature: a number from 0 to 1" })),
    top_p: t.Optional(t.Number()),
    top_k: t.Optional(Int()),
    metadata: t.Optional(t.Object({ user_id: Omittable(t.String()) }, { additionalProperties: true })),
  },
  { title: "AnthropicMessagesRequest", additionalProperties: true },
);

export const AnthropicCountTokensRequest = t.Object(promptFields, { title: "AnthropicCountTokensRequest", additionalProperties: true });

/** A block of the assistant's reply. */
export const AnthropicResponseBlock = t.Union([
  t.Object({ type: t.Literal("text"), text: t.String() }),
  t.Object({ type: t.Literal("thinking"), thinking: t.String(), signature: t.String() }),
  t.Object({ type: t.Literal("tool_use"), id: t.String(), name: t.String(), input: t.Record(t.String(), t.Unknown()) }),
]);

export const AnthropicUsage = t.Object({
  input_tokens: Int({ description: "prompt tokens not read from the prefix cache" }),
  output_tokens: Int(),
  cache_read_input_tokens: Int({ description: "prompt tokens read from the prefix cache" }),
  cache_creation_input_tokens: Int(),
});

export const AnthropicStopReason = t.Union([
  t.Literal("end_turn"),
  t.Literal("max_tokens"),
  t.Literal("stop_sequence"),
  t.Literal("tool_use"),
  t.Null(),
]);

export const AnthropicMessageResponse = t.Object(
  {
    id: t.String({ description: '"msg_" + 24 characters' }),
    type: t.Literal("message"),
    role: t.Literal("assistant"),
    model: t.String(),
    content: t.Array(AnthropicResponseBlock),
    stop_reason: AnthropicStopReason,
    stop_sequence: t.Union([t.String(), t.Null()]),
    usage: AnthropicUsage,
  },
  { title: "AnthropicMessage", description: "stream:true answers with SSE events message_start … message_stop instead" },
);

export const AnthropicCountTokensResponse = t.Object({ input_tokens: Int() }, { title: "AnthropicCountTokens" });

export const AnthropicError = t.Object(
  {
    type: t.Literal("error"),
    error: t.Object({ type: t.String({ description: "invalid_request_error, not_found_error, overloaded_error, api_error, ..." }), message: t.String() }),
  },
  { title: "AnthropicError" },
);

export type AnthropicContentBlock = Static<typeof AnthropicContentBlock>;
export type AnthropicMessage = Static<typeof AnthropicMessage>;
export type AnthropicMessagesRequest = Static<typeof AnthropicMessagesRequest>;
export type AnthropicCountTokensRequest = Static<typeof AnthropicCountTokensRequest>;
export type AnthropicResponseBlock = Static<typeof AnthropicResponseBlock>;
export type AnthropicMessageResponse = Static<typeof AnthropicMessageResponse>;
export type AnthropicUsage = Static<typeof AnthropicUsage>;
export type AnthropicError = Static<typeof AnthropicError>;
