// OpenAI-compatible bodies (/v1/chat/completions, /v1/completions, /v1/models, /v1/embeddings), as Ollama's
// openai/openai.go declares them. OpenAI clients send null for unset fields, so every optional field takes null.
import { t, type Static } from "elysia";
import { Int, Omittable, goDynamicType } from "./go-json.ts";
import { DebugInfo, Logprob, Tool, errorFromValue } from "./common.ts";
import { ToolChoice } from "./chat.ts";

export const OpenAIToolCall = t.Object({
  id: t.String(),
  index: t.Optional(Int()),
  type: t.String({ default: "function" }),
  function: t.Object({
    name: t.String(),
    arguments: t.String({ description: "the arguments as a JSON text" }),
  }),
});

/** A content part: text, image_url (data: URL or {url}), or input_audio; converted in src/api/openai.ts. */
export const OpenAIContentPart = t.Object(
  {
    type: t.String({ description: '"text", "image_url" or "input_audio"' }),
    text: t.Optional(t.String()),
    image_url: t.Optional(t.Union([t.String(), t.Object({ url: t.String(), detail: t.Optional(t.String()) })])),
    input_audio: t.Optional(t.Object({ data: t.String(), format: t.Optional(t.String()) })),
  },
  { additionalProperties: true },
);

export const OpenAIMessage = t.Object({
  role: t.String(),
  // Go declares content `any` and rejects other types while converting: "invalid message content type: float64"
  content: t.Optional(
    t.Union([t.String(), t.Array(t.Unknown()), t.Null()], {
      error: errorFromValue((value) => `invalid message content type: ${goDynamicType(value)}`),
    }),
  ),
  reasoning: Omittable(t.String()),
  tool_calls: Omittable(t.Array(OpenAIToolCall)),
  name: Omittable(t.String()),
  tool_call_id: Omittable(t.String()),
});

export const StreamOptions = t.Object({ include_usage: Omittable(t.Boolean()) });

export const ResponseFormat = t.Object({
  type: t.String({ description: '"text", "json_object" or "json_schema"' }),
  json_schema: Omittable(
    t.Object({
      name: t.Optional(t.String()),
      strict: Omittable(t.Boolean()),
      schema: t.Optional(t.Unknown()),
    }),
  ),
});

/** stop: one string or a list (non-string items are dropped for chat, rejected for completions). */
const Stop = Omittable(t.Union([t.String(), t.Array(t.Unknown())]));

// `model` may be left out, as Go's decoder allows: Ollama checks `messages` first ("[] is too short"), then the native
// handler answers "model is required" (chat) or "model '' not found" (generate, embed).
export const ChatCompletionRequest = t.Object(
  {
    model: Omittable(t.String()),
    messages: Omittable(t.Array(OpenAIMessage), { description: "must not be empty" }),
    stream: Omittable(t.Boolean()),
    stream_options: Omittable(StreamOptions),
    max_tokens: Omittable(Int()),
    max_completion_tokens: Omittable(Int({ description: "used when max_tokens is unset" })),
    seed: Omittable(Int()),
    stop: Stop,
    temperature: Omittable(t.Number({ description: "default 1.0 (not Ollama's 0.8)" })),
    frequency_penalty: Omittable(t.Number()),
    presence_penalty: Omittable(t.Number()),
    top_p: Omittable(t.Number({ description: "default 1.0" })),
    response_format: Omittable(ResponseFormat),
    tools: Omittable(t.Array(Tool)),
    tool_choice: Omittable(ToolChoice),
    reasoning: Omittable(t.Object({ effort: Omittable(t.String()) })),
    reasoning_effort: Omittable(t.String({ description: "none, minimal, low, medium, high, xhigh, ultra, max" })),
    logprobs: Omittable(t.Boolean()),
    top_logprobs: Omittable(Int()),
    _debug_render_only: Omittable(t.Boolean()),
  },
  { title: "ChatCompletionRequest" },
);

export const Usage = t.Object({
  prompt_tokens: Int(),
  completion_tokens: Int(),
  total_tokens: Int(),
  prompt_tokens_details: t.Optional(t.Object({ cached_tokens: Int({ description: "prompt tokens read from the prefix cache" }) })),
});

export const ChoiceLogprobs = t.Object({ content: t.Union([t.Array(Logprob), t.Null()]) });

const FinishReason = t.Union([t.String({ description: '"stop", "length" or "tool_calls"' }), t.Null()]);

export const ChatCompletionMessage = t.Object({
  role: t.String(),
  content: t.Unknown({ description: "the text (a string)" }),
  reasoning: t.Optional(t.String()),
  tool_calls: t.Optional(t.Array(OpenAIToolCall)),
  name: t.Optional(t.String()),
  tool_call_id: t.Optional(t.String()),
});

export const ChatCompletion = t.Object(
  {
    id: t.String({ description: '"chatcmpl-<n>"' }),
    object: t.Literal("chat.completion"),
    created: Int(),
    model: t.String(),
    system_fingerprint: t.String(),
    choices: t.Array(
      t.Object({
        index: Int(),
        message: ChatCompletionMessage,
        finish_reason: FinishReason,
        logprobs: t.Optional(ChoiceLogprobs),
      }),
    ),
    usage: Usage,
    _debug_info: t.Optional(DebugInfo),
  },
  { title: "ChatCompletion" },
);

/** Streaming deltas omit every empty field, so the finish chunk's delta is `{}`. */
export const ChatCompletionDelta = t.Object({
  role: t.Optional(t.String()),
  content: t.Optional(t.String()),
  reasoning: t.Optional(t.String()),
  tool_calls: t.Optional(t.Array(OpenAIToolCall)),
});

export const ChatCompletionChunk = t.Object(
  {
    id: t.String(),
    object: t.Literal("chat.completion.chunk"),
    created: Int(),
    model: t.String(),
    system_fingerprint: t.String(),
    choices: t.Array(
      t.Object({
        index: Int(),
        delta: ChatCompletionDelta,
        finish_reason: FinishReason,
        logprobs: t.Optional(ChoiceLogprobs),
      }),
    ),
    usage: t.Optional(Usage),
  },
  { title: "ChatCompletionChunk" },
);

export const CompletionRequest = t.Object(
  {
    model: Omittable(t.String()),
    prompt: Omittable(t.String({ description: "a single string (lists of prompts are not supported)" })),
    suffix: Omittable(t.String()),
    max_tokens: Omittable(Int()),
    seed: Omittable(Int()),
    stop: Stop,
    stream: Omittable(t.Boolean()),
    stream_options: Omittable(StreamOptions),
    temperature: Omittable(t.Number({ description: "default 1.0" })),
    top_p: Omittable(t.Number({ description: "default 1.0 (also when 0)" })),
    frequency_penalty: Omittable(t.Number()),
    presence_penalty: Omittable(t.Number()),
    logprobs: Omittable(Int({ description: "number of top logprobs; > 0 enables logprobs" })),
    echo: t.Optional(t.Unknown()),
    best_of: t.Optional(t.Unknown()),
    n: t.Optional(t.Unknown()),
    logit_bias: t.Optional(t.Unknown()),
    user: t.Optional(t.Unknown()),
    _debug_render_only: Omittable(t.Boolean()),
  },
  { title: "CompletionRequest" },
);

export const CompletionChoice = t.Object({
  text: t.String(),
  index: Int(),
  finish_reason: FinishReason,
  logprobs: t.Optional(ChoiceLogprobs),
});

export const Completion = t.Object(
  {
    id: t.String({ description: '"cmpl-<n>"' }),
    object: t.Literal("text_completion"),
    created: Int(),
    model: t.String(),
    system_fingerprint: t.String(),
    choices: t.Array(CompletionChoice),
    usage: t.Optional(Usage),
  },
  { title: "Completion" },
);
/** Streaming completion chunks have the same shape (object "text_completion"), usage only with include_usage. */
export const CompletionChunk = Completion;

export const OpenAIModel = t.Object(
  {
    id: t.String({ description: '"name:tag"' }),
    object: t.Literal("model"),
    created: Int({ description: "modified_at as unix seconds" }),
    owned_by: t.String({ description: 'the namespace, e.g. "library"' }),
  },
  { title: "Model" },
);

/** Ollama marshals a nil slice, so an empty store lists `"data": null`. */
export const ModelList = t.Object(
  { object: t.Literal("list"), data: t.Union([t.Array(OpenAIModel), t.Null()]) },
  { title: "ModelList" },
);

export const OpenAIEmbeddingRequest = t.Object(
  {
    model: Omittable(t.String()),
    input: t.Union([t.String(), t.Array(t.String()), t.Array(Int()), t.Array(t.Array(Int()))], {
      error: "invalid input",
      description: "a string, a list of strings, or token ids (one list, or a list of lists) of the model's own vocabulary",
    }),
    dimensions: Omittable(Int()),
    encoding_format: Omittable(t.String({ description: '"float" (default) or "base64" (little-endian float32)' })),
    user: t.Optional(t.Unknown()),
  },
  { title: "EmbeddingRequest" },
);

export const EmbeddingList = t.Object(
  {
    object: t.Literal("list"),
    data: t.Union([
      t.Array(
        t.Object({
          object: t.Literal("embedding"),
          embedding: t.Union([t.Array(t.Number()), t.String()]),
          index: Int(),
        }),
      ),
      t.Null(),
    ]),
    model: t.String(),
    usage: t.Object({ prompt_tokens: Int(), total_tokens: Int() }),
  },
  { title: "EmbeddingList" },
);

/** The error envelope on /v1 routes; type is invalid_request_error (400), not_found_error (404) or api_error. */
export const OpenAIError = t.Object(
  {
    error: t.Object({
      message: t.String(),
      type: t.String(),
      param: t.Union([t.String(), t.Null()]),
      code: t.Union([t.String(), t.Null()]),
    }),
  },
  { title: "OpenAIError" },
);

export type OpenAIToolCall = Static<typeof OpenAIToolCall>;
export type OpenAIMessage = Static<typeof OpenAIMessage>;
export type ChatCompletionRequest = Static<typeof ChatCompletionRequest>;
export type ChatCompletion = Static<typeof ChatCompletion>;
export type ChatCompletionChunk = Static<typeof ChatCompletionChunk>;
export type ChatCompletionDelta = Static<typeof ChatCompletionDelta>;
export type CompletionRequest = Static<typeof CompletionRequest>;
export type Completion = Static<typeof Completion>;
export type CompletionChunk = Static<typeof CompletionChunk>;
export type Usage = Static<typeof Usage>;
export type OpenAIModel = Static<typeof OpenAIModel>;
export type ModelList = Static<typeof ModelList>;
export type OpenAIEmbeddingRequest = Static<typeof OpenAIEmbeddingRequest>;
export type EmbeddingList = Static<typeof EmbeddingList>;
export type OpenAIError = Static<typeof OpenAIError>;
