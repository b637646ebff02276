// Native responses → OpenAI's bodies and stream chunks, as openai/openai.go (ToChatCompletion, ToStreamChunks,
// FinishChunk, ToCompletion, ToListCompletion, ToEmbeddingList) and middleware/openai.go's writers shape them.
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatResponse,
  Completion,
  CompletionChunk,
  EmbedResponse,
  EmbeddingList,
  GenerateResponse,
  ListResponse,
  ModelList,
  OpenAIModel,
  OpenAIToolCall,
  ShowResponse,
  ToolCall,
  Usage,
} from "../schemas/index.ts";
import { unixSeconds } from "./time.ts";

const FINGERPRINT = "fp_ollama";

/** Go's zero time, which Ollama's types carry when no timestamp was set. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

function createdOf(timestamp: string | undefined): number {
  if (!timestamp || timestamp === ZERO_TIME) return Math.floor(Date.now() / 1000);
  return unixSeconds(timestamp);
}

/** Native tool calls (arguments as an object) → OpenAI's (arguments as JSON text, type "function"). */
export function toOpenAIToolCalls(calls: readonly ToolCall[] | undefined): OpenAIToolCall[] {
  return (calls ?? []).map((call) => ({
    id: call.id ?? "",
    index: call.function.index ?? 0,
    type: "function",
    function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments ?? {}) },
  }));
}

function usageOf(response: { prompt_eval_count?: number; prompt_eval_cached_count?: number; eval_count?: number }): Usage {
  const prompt = response.prompt_eval_count ?? 0;
  const completion = response.eval_count ?? 0;
  const cached = response.prompt_eval_cached_count;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(cached ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
  };
}

/** A non-streamed chat response; "stop" becomes "tool_calls" when the model called tools. */
export function toChatCompletion(id: string, response: ChatResponse): ChatCompletion {
  const toolCalls = toOpenAIToolCalls(response.message.tool_calls);
  let reason = response.done_reason ?? "";
  if (reason === "stop" && toolCalls.length > 0) reason = "tool_calls";
  const message: ChatCompletion["choices"][number]["message"] = {
    role: response.message.role,
    content: response.message.content,
  };
  if (response.message.thinking) message.reasoning = response.message.thinking;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const choice: ChatCompletion["choices"][number] = { index: 0, message, finish_reason: reason || null };
  if (response.logprobs && response.logprobs.length > 0) choice.logprobs = { content: response.logprobs };
  const completion: ChatCompletion = {
    id,
    object: "chat.completion",
    created: createdOf(response.created_at),
    model: response.model,
    system_fingerprint: FINGERPRINT,
    choices: [choice],
    usage: usageOf(response),
  };
  if (response._debug_info) completion._debug_info = response._debug_info;
  return completion;
}

function chunkOf(id: string, created: number, model: string, choice: ChatCompletionChunk["choices"][number]): ChatCompletionChunk {
  return { id, object: "chat.completion.chunk", created, model, system_fingerprint: FINGERPRINT, choices: [choice] };
}

/**
 * The chunks of one native chat response (ToStreamChunks). Content is always present (even ""), except on the
 * reasoning half when a response carries both thinking and content/tool calls: that is split into two chunks.
 */
export function toChatCompletionChunks(
  id: string,
  response: ChatResponse,
  created: number,
  includeRole: boolean,
): ChatCompletionChunk[] {
  const toolCalls = toOpenAIToolCalls(response.message.tool_calls);
  const { content, thinking } = response.message;
  const logprobs = response.logprobs && response.logprobs.length > 0 ? { content: response.logprobs } : undefined;
  const delta = (fields: { role?: boolean; content?: boolean; reasoning?: boolean; tools?: boolean }) => {
    const d: ChatCompletionChunk["choices"][number]["delta"] = {};
    if (fields.role) d.role = "assistant";
    if (fields.content) d.content = content;
    if (fields.reasoning && thinking) d.reasoning = thinking;
    if (fields.tools && toolCalls.length > 0) d.tool_calls = toolCalls;
    return d;
  };
  const withLogprobs = (choice: ChatCompletionChunk["choices"][number]) => {
    if (logprobs) choice.logprobs = logprobs;
    return choice;
  };

  const mixed = !!thinking && (content !== "" || toolCalls.length > 0);
  if (!mixed) {
    const d = delta({ role: includeRole, content: true, reasoning: true, tools: true });
    return [chunkOf(id, created, response.model, withLogprobs({ index: 0, delta: d, finish_reason: null }))];
  }
  const reasoning = delta({ role: includeRole, reasoning: true });
  const rest = delta({ content: true, tools: true });
  return [
    chunkOf(id, created, response.model, withLogprobs({ index: 0, delta: reasoning, finish_reason: null })),
    chunkOf(id, created, response.model, { index: 0, delta: rest, finish_reason: null }),
  ];
}

/**
 * Turns a stream of native chat chunks into OpenAI chunks (middleware/openai.go ChatWriter): one `created` for
 * the whole stream, role on the first chunk only, no chunk for the metrics-only trailer, a finish chunk with an
 * empty delta, and with include_usage a last chunk with `choices: []` and the usage. sseResponse adds [DONE].
 */
export class ChatCompletionStream {
  private created: number | undefined;
  private firstChunkSent = false;
  private toolCallSent = false;

  constructor(
    readonly id: string,
    private readonly includeUsage = false,
  ) {}

  push(response: ChatResponse): ChatCompletionChunk[] {
    this.created ??= createdOf(response.created_at);
    const out: ChatCompletionChunk[] = [];
    const m = response.message;
    const emptyTrailer =
      response.done &&
      this.firstChunkSent &&
      m.content === "" &&
      !m.thinking &&
      !(m.tool_calls && m.tool_calls.length > 0) &&
      !(response.logprobs && response.logprobs.length > 0);
    if (!emptyTrailer) {
      for (const chunk of toChatCompletionChunks(this.id, response, this.created, !this.firstChunkSent)) {
        if (chunk.choices[0]?.delta.tool_calls?.length) this.toolCallSent = true;
        out.push(chunk);
      }
      this.firstChunkSent = true;
    }
    if (response.done) {
      let reason = response.done_reason || "stop";
      if (reason === "stop" && this.toolCallSent) reason = "tool_calls";
      out.push(chunkOf(this.id, this.created, response.model, { index: 0, delta: {}, finish_reason: reason }));
      if (this.includeUsage) {
        out.push({
          id: this.id,
          object: "chat.completion.chunk",
          created: this.created,
          model: response.model,
          system_fingerprint: FINGERPRINT,
          choices: [],
          usage: usageOf(response),
        });
      }
    }
    return out;
  }
}

/** Adapts a native chat stream to an OpenAI chunk stream, for sseResponse. */
export async function* chatCompletionChunks(
  source: AsyncIterable<ChatResponse>,
  id: string,
  includeUsage = false,
): AsyncGenerator<ChatCompletionChunk> {
  const stream = new ChatCompletionStream(id, includeUsage);
  for await (const response of source) yield* stream.push(response);
}

function completionChoice(response: GenerateResponse): Completion["choices"][number] {
  return { text: response.response, index: 0, finish_reason: response.done_reason || null };
}

/** A non-streamed /v1/completions response. */
export function toCompletion(id: string, response: GenerateResponse): Completion {
  return {
    id,
    object: "text_completion",
    created: createdOf(response.created_at),
    model: response.model,
    system_fingerprint: FINGERPRINT,
    choices: [completionChoice(response)],
    usage: usageOf(response),
  };
}

/**
 * The chunks of one native generate response (CompleteWriter): `created` is the time of each chunk; with
 * include_usage every chunk carries zero usage and the final one is followed by a `choices: []` usage chunk.
 */
export function toCompletionChunks(id: string, response: GenerateResponse, includeUsage = false): CompletionChunk[] {
  const chunk: CompletionChunk = {
    id,
    object: "text_completion",
    created: Math.floor(Date.now() / 1000),
    model: response.model,
    system_fingerprint: FINGERPRINT,
    choices: [completionChoice(response)],
  };
  if (includeUsage) chunk.usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const out = [chunk];
  if (response.done && includeUsage) out.push({ ...chunk, choices: [], usage: usageOf(response) });
  return out;
}

/** Adapts a native generate stream to an OpenAI completion chunk stream, for sseResponse. */
export async function* completionChunks(
  source: AsyncIterable<GenerateResponse>,
  id: string,
  includeUsage = false,
): AsyncGenerator<CompletionChunk> {
  for await (const response of source) yield* toCompletionChunks(id, response, includeUsage);
}

/** model.ParseName(name).Namespace: "library" unless the name has a namespace ("user/m", "host/user/m"). */
export function namespaceOf(name: string): string {
  const parts = name.split("@")[0]!.split(":")[0]!.split("/");
  // a host segment only counts when three segments are present; otherwise the first one is the namespace
  if (parts.length >= 3) return parts[parts.length - 2]!;
  if (parts.length === 2) return parts[0]!;
  return "library";
}

/** GET /api/tags → GET /v1/models (a nil list marshals as `"data": null`). */
export function toModelList(list: ListResponse): ModelList {
  const data: OpenAIModel[] = list.models.map((m) => {
    const id = m.model || m.name;
    return { id, object: "model", created: unixSeconds(m.modified_at), owned_by: namespaceOf(id) };
  });
  return { object: "list", data: data.length > 0 ? data : null };
}

/** POST /api/show → GET /v1/models/{model}; the id is the name as the client wrote it. */
export function toOpenAIModel(show: ShowResponse, name: string): OpenAIModel {
  return { id: name, object: "model", created: createdOf(show.modified_at), owned_by: namespaceOf(name) };
}

/** float32 little-endian bytes, base64 (encoding_format "base64"). */
export function floatsToBase64(values: readonly number[]): string {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return Buffer.from(view.buffer).toString("base64");
}

/** POST /api/embed → /v1/embeddings. */
export function toEmbeddingList(model: string, response: EmbedResponse, encodingFormat?: string | null): EmbeddingList {
  const base64 = (encodingFormat ?? "").toLowerCase() === "base64";
  const data = response.embeddings.map((embedding, index) => ({
    object: "embedding" as const,
    embedding: base64 ? floatsToBase64(embedding) : embedding,
    index,
  }));
  const tokens = response.prompt_eval_count ?? 0;
  return {
    object: "list",
    data: data.length > 0 ? data : null,
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
