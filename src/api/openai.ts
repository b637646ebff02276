// OpenAI requests → Ollama's native requests, as openai/openai.go (FromChatRequest, FromCompleteRequest) and
// middleware/openai.go (EmbeddingsMiddleware) rewrite them. Errors are InvalidRequestError with Ollama's text;
// the /v1 routes wrap them in OpenAI's envelope (openAIErrorResponse).
import type {
  ChatCompletionRequest,
  ChatRequest,
  CompletionRequest,
  GenerateRequest,
  Message,
  OpenAIEmbeddingRequest,
  OpenAIMessage,
  OpenAIToolCall,
  Think,
  ToolCall,
} from "../schemas/index.ts";
import { goDynamicType } from "../schemas/go-json.ts";
import { InvalidRequestError, MESSAGES } from "./errors.ts";

const invalidFormat = () => new InvalidRequestError("invalid message format");

/** reasoning_effort → think (thinkFromReasoningEffort): OpenAI's wider scale is clamped to Ollama's levels. */
export function thinkFromReasoningEffort(effort: string | null | undefined): Think | undefined {
  switch (effort ?? "") {
    case "":
      return undefined;
    case "none":
      return false;
    case "minimal":
      return "low";
    case "low":
    case "medium":
    case "high":
    case "max":
      return effort as Think;
    case "xhigh":
    case "ultra":
      return "max";
    default:
      throw new InvalidRequestError(
        `invalid reasoning value: ${JSON.stringify(effort)} (must be "minimal", "low", "medium", "high", "xhigh", "ultra", "max", or "none")`,
      );
  }
}

/** A data: URL → the base64 payload the native API takes; http(s) URLs are refused (decodeImageURL). */
export function imageFromDataUrl(url: string): string {
  if (url.startsWith("http://") || url.startsWith("https://")) {
    throw new InvalidRequestError("image URLs are not currently supported, please use base64 encoded data instead");
  }
  let payload: string | undefined;
  if (url.startsWith("data:;base64,")) payload = url.slice("data:;base64,".length);
  else {
    for (const type of ["jpeg", "jpg", "png", "webp"]) {
      const prefix = `data:image/${type};base64,`;
      if (url.startsWith(prefix)) {
        payload = url.slice(prefix.length);
        break;
      }
    }
  }
  if (payload === undefined || !isStdBase64(payload)) throw new InvalidRequestError("invalid image input");
  return payload.replace(/[\r\n]/g, "");
}

/** Go's base64.StdEncoding: padded, standard alphabet; it skips \r and \n. */
function isStdBase64(text: string): boolean {
  const s = text.replace(/[\r\n]/g, "");
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

/** OpenAI tool calls (arguments as JSON text) → native ones (arguments as an object). */
export function fromOpenAIToolCalls(calls: readonly OpenAIToolCall[]): ToolCall[] {
  return calls.map((call) => {
    let args: unknown;
    try {
      args = JSON.parse(call.function.arguments);
    } catch {
      throw new InvalidRequestError("invalid tool call arguments");
    }
    if (args === null) args = {}; // Go: "null" leaves the ordered map empty
    if (typeof args !== "object" || Array.isArray(args)) throw new InvalidRequestError("invalid tool call arguments");
    return { id: call.id, function: { index: 0, name: call.function.name, arguments: args as Record<string, unknown> } };
  });
}

/** A tool message's name from the assistant call it answers; the last call with that id wins. */
function nameFromToolCallId(messages: readonly OpenAIMessage[], id: string): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    for (const call of messages[i]!.tool_calls ?? []) if (call.id === id) return call.function.name;
  }
  return "";
}

/** One OpenAI message → native messages: each content part becomes its own message with the same role. */
function fromOpenAIMessage(message: OpenAIMessage, all: readonly OpenAIMessage[]): Message[] {
  const role = message.role;
  let toolName = "";
  if (role.toLowerCase() === "tool") {
    toolName = message.name ?? "";
    if (!toolName && message.tool_call_id) toolName = nameFromToolCallId(all, message.tool_call_id);
  }
  const toolCalls = message.tool_calls ? fromOpenAIToolCalls(message.tool_calls) : undefined;
  const content: unknown = message.content;

  if (typeof content === "string") {
    return [
      withoutEmpty({
        role,
        content,
        thinking: message.reasoning ?? undefined,
        tool_calls: toolCalls,
        tool_name: toolName,
        tool_call_id: message.tool_call_id ?? undefined,
      }),
    ];
  }
  if (Array.isArray(content)) {
    const out: Message[] = content.map((part) => fromContentPart(role, part));
    // Tool calls (and the rest) ride on the last message the parts produced.
    const last = out[out.length - 1];
    if (last && message.tool_calls && message.tool_calls.length > 0) {
      Object.assign(
        last,
        withoutEmpty({
          role,
          tool_calls: toolCalls,
          tool_name: toolName,
          tool_call_id: message.tool_call_id ?? undefined,
          thinking: message.reasoning ?? undefined,
        }),
      );
    }
    return out;
  }
  // content is only optional when tool calls are present
  if (!message.tool_calls) throw new InvalidRequestError(`invalid message content type: ${goDynamicType(content)}`);
  return [
    withoutEmpty({
      role,
      content: "",
      thinking: message.reasoning ?? undefined,
      tool_calls: toolCalls,
      tool_call_id: message.tool_call_id ?? undefined,
    }),
  ];
}

function fromContentPart(role: string, part: unknown): Message {
  if (!part || typeof part !== "object" || Array.isArray(part)) throw invalidFormat();
  const data = part as Record<string, unknown>;
  switch (data.type) {
    case "text":
      if (typeof data.text !== "string") throw invalidFormat();
      return { role, content: data.text };
    case "image_url": {
      const field = data.image_url;
      let url: unknown = field;
      if (field && typeof field === "object" && !Array.isArray(field)) url = (field as Record<string, unknown>).url;
      if (typeof url !== "string") throw invalidFormat();
      return { role, content: "", images: [imageFromDataUrl(url)] };
    }
    case "input_audio": {
      const audio = data.input_audio;
      if (!audio || typeof audio !== "object" || Array.isArray(audio)) {
        throw new InvalidRequestError("invalid input_audio format");
      }
      const b64 = (audio as Record<string, unknown>).data;
      if (typeof b64 !== "string") throw new InvalidRequestError("invalid input_audio format: missing data");
      if (!isStdBase64(b64)) throw new InvalidRequestError("invalid input_audio base64 data: illegal base64 data");
      return { role, content: "", images: [b64.replace(/[\r\n]/g, "")] };
    }
    default:
      throw invalidFormat();
  }
}

/** Drops the fields Go would omit (omitempty): empty strings and undefined. */
function withoutEmpty<T extends object>(message: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    if (value === undefined || (value === "" && key !== "content" && key !== "role")) continue;
    out[key] = value;
  }
  return out as T;
}

/** stop as a string or list → the stop option; chat drops non-strings, completions reject them. */
function stopOption(stop: unknown, strict: boolean): string[] | undefined {
  if (typeof stop === "string") return [stop];
  if (!Array.isArray(stop)) return undefined;
  const stops: string[] = [];
  for (const item of stop) {
    if (typeof item === "string") stops.push(item);
    else if (strict) throw new InvalidRequestError(`invalid type for 'stop' field: ${goDynamicType(item)}`);
  }
  // an empty list marshals as null, which leaves the model's stop strings in place
  return stops.length > 0 ? stops : undefined;
}

/** /v1/chat/completions → /api/chat. temperature and top_p default to 1.0 (OpenAI's defaults), not Ollama's. */
export function fromChatCompletionRequest(request: ChatCompletionRequest): ChatRequest {
  const messages = request.messages ?? [];
  if (messages.length === 0) throw new InvalidRequestError("[] is too short - 'messages'");
  if (!request.model) throw new InvalidRequestError(MESSAGES.modelRequired);
  const converted = messages.flatMap((message) => fromOpenAIMessage(message, messages));

  const options: Record<string, unknown> = {};
  const stop = stopOption(request.stop, false);
  if (stop) options.stop = stop;
  const maxTokens = request.max_tokens ?? request.max_completion_tokens;
  if (maxTokens != null) options.num_predict = maxTokens;
  options.temperature = request.temperature ?? 1.0;
  if (request.seed != null) options.seed = request.seed;
  if (request.frequency_penalty != null) options.frequency_penalty = request.frequency_penalty;
  if (request.presence_penalty != null) options.presence_penalty = request.presence_penalty;
  options.top_p = request.top_p ?? 1.0;

  let format: ChatRequest["format"];
  const responseFormat = request.response_format;
  if (responseFormat) {
    const type = responseFormat.type.trim().toLowerCase();
    if (type === "json_object") format = "json";
    else if (type === "json_schema" && responseFormat.json_schema?.schema != null) {
      format = responseFormat.json_schema.schema as ChatRequest["format"];
    }
  }

  const effort = request.reasoning ? request.reasoning.effort : request.reasoning_effort;
  const think = thinkFromReasoningEffort(effort);

  const chat: ChatRequest = {
    model: request.model,
    messages: converted,
    options,
    stream: request.stream ?? false,
    logprobs: request.logprobs === true,
    top_logprobs: request.top_logprobs ?? 0,
  };
  if (format !== undefined) chat.format = format;
  if (request.tools) chat.tools = request.tools;
  // Ollama ignores tool_choice; ollmlx honours it (routes/tool-choice.ts).
  if (request.tool_choice != null) chat.tool_choice = request.tool_choice;
  if (think !== undefined) chat.think = think;
  if (request._debug_render_only) chat._debug_render_only = true;
  return chat;
}

/** /v1/completions → /api/generate. Penalties are always sent (0 when absent); top_p 0 means 1.0. */
export function fromCompletionRequest(request: CompletionRequest): GenerateRequest {
  const options: Record<string, unknown> = {};
  const stop = stopOption(request.stop, true);
  if (stop) options.stop = stop;
  if (request.max_tokens != null) options.num_predict = request.max_tokens;
  options.temperature = request.temperature ?? 1.0;
  if (request.seed != null) options.seed = request.seed;
  options.frequency_penalty = request.frequency_penalty ?? 0;
  options.presence_penalty = request.presence_penalty ?? 0;
  options.top_p = request.top_p ? request.top_p : 1.0;

  const topLogprobs = request.logprobs ?? 0;
  const generate: GenerateRequest = {
    model: request.model ?? "",
    prompt: request.prompt ?? "",
    options,
    stream: request.stream ?? false,
  };
  if (request.suffix) generate.suffix = request.suffix;
  if (topLogprobs > 0) {
    generate.logprobs = true;
    generate.top_logprobs = topLogprobs;
  }
  if (request._debug_render_only) generate._debug_render_only = true;
  return generate;
}

export interface OpenAIEmbedInputs {
  model: string;
  /** one entry per vector: a text, or token ids */
  input: (string | number[])[];
  dimensions?: number;
}

/** /v1/embeddings as /api/embed's inputs; "" embeds one empty string, an empty list is refused. */
export function fromEmbeddingRequest(request: OpenAIEmbeddingRequest): OpenAIEmbedInputs {
  const format = request.encoding_format;
  if (format && format.toLowerCase() !== "float" && format.toLowerCase() !== "base64") {
    throw new InvalidRequestError(
      `Invalid value for 'encoding_format' = ${format}. Supported values: ['float', 'base64'].`,
    );
  }
  const raw = request.input;
  if (raw == null || (Array.isArray(raw) && raw.length === 0)) throw new InvalidRequestError("invalid input");
  // A flat list of numbers is one tokenized input; a list of lists is several.
  const input: (string | number[])[] =
    typeof raw === "string" ? [raw] : raw.every((x) => typeof x === "number") ? [raw as number[]] : (raw as (string | number[])[]);
  if (input.some((x) => Array.isArray(x) && x.length === 0)) throw new InvalidRequestError("invalid input");
  const embed: OpenAIEmbedInputs = { model: request.model ?? "", input };
  if (request.dimensions) embed.dimensions = request.dimensions;
  return embed;
}

export * from "./openai-response.ts";
