// Native chat responses → Anthropic's message and its SSE events (Anthropic's streaming reference; Ollama's
// anthropic.go StreamConverter emits the same sequence): message_start, ping, then per block content_block_start,
// deltas and content_block_stop, then message_delta (stop_reason, usage) and message_stop.
import type { AnthropicMessageResponse, AnthropicResponseBlock, AnthropicUsage, ChatResponse } from "../schemas/index.ts";
import { STOP_SEQUENCE, type WithStopSequence } from "./stop-sequence.ts";

type StopReason = AnthropicMessageResponse["stop_reason"];

/**
 * stop_reason and stop_sequence of a done chunk. Only the request's own stop_sequences count as one: a stop string
 * of the model's parameters (<|im_end|>) ends the turn, as its end-of-turn token would.
 */
function stopOf(done: ChatResponse & WithStopSequence, calledTools: boolean, requested: readonly string[]): { stop_reason: StopReason; stop_sequence: string | null } {
  if (calledTools) return { stop_reason: "tool_use", stop_sequence: null };
  if (done.done_reason === "length") return { stop_reason: "max_tokens", stop_sequence: null };
  const matched = done[STOP_SEQUENCE];
  if (matched !== undefined && requested.includes(matched)) return { stop_reason: "stop_sequence", stop_sequence: matched };
  return { stop_reason: "end_turn", stop_sequence: null };
}

/** Anthropic counts cache reads apart from input_tokens: the prompt is their sum. */
export function anthropicUsage(response: Pick<ChatResponse, "prompt_eval_count" | "prompt_eval_cached_count" | "eval_count">): AnthropicUsage {
  const cached = response.prompt_eval_cached_count ?? 0;
  return {
    input_tokens: (response.prompt_eval_count ?? 0) - cached,
    output_tokens: response.eval_count ?? 0,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: 0,
  };
}

/** The whole (aggregated) chat response as one Anthropic message: thinking, then text, then tool_use blocks. */
export function toAnthropicMessage(id: string, model: string, response: ChatResponse, stopSequences: readonly string[] = []): AnthropicMessageResponse {
  const content: AnthropicResponseBlock[] = [];
  const m = response.message;
  if (m.thinking) content.push({ type: "thinking", thinking: m.thinking, signature: "" });
  if (m.content) content.push({ type: "text", text: m.content });
  for (const call of m.tool_calls ?? []) {
    content.push({ type: "tool_use", id: call.id ?? "", name: call.function.name, input: call.function.arguments ?? {} });
  }
  const calledTools = (m.tool_calls ?? []).length > 0;
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content,
    ...stopOf(response, calledTools, stopSequences),
    usage: anthropicUsage(response),
  };
}

export type AnthropicStreamEvent =
  | { type: "message_start"; message: AnthropicMessageResponse }
  | { type: "ping" }
  | { type: "content_block_start"; index: number; content_block: AnthropicResponseBlock }
  | {
      type: "content_block_delta";
      index: number;
      delta: { type: "text_delta"; text: string } | { type: "thinking_delta"; thinking: string } | { type: "input_json_delta"; partial_json: string };
    }
  | { type: "content_block_stop"; index: number }
  | { type: "message_delta"; delta: { stop_reason: StopReason; stop_sequence: string | null }; usage: AnthropicUsage }
  | { type: "message_stop" };

/** The open block's kind: consecutive deltas of one kind extend it, another kind closes it first. */
type OpenBlock = "text" | "thinking" | undefined;

/** Turns native chat chunks into Anthropic's events; the input token count is only known at the end (message_delta). */
export async function* anthropicStreamEvents(
  source: AsyncIterable<ChatResponse>,
  id: string,
  model: string,
  stopSequences: readonly string[] = [],
): AsyncGenerator<AnthropicStreamEvent> {
  const empty = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  let started = false;
  let index = -1;
  let open: OpenBlock;
  let calledTools = false;
  function* close(): Generator<AnthropicStreamEvent> {
    if (open) yield { type: "content_block_stop", index };
    open = undefined;
  }
  function* extend(kind: "text" | "thinking", text: string): Generator<AnthropicStreamEvent> {
    if (!text) return;
    if (open !== kind) {
      yield* close();
      index++;
      open = kind;
      yield {
        type: "content_block_start",
        index,
        content_block: kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" },
      };
    }
    yield { type: "content_block_delta", index, delta: kind === "text" ? { type: "text_delta", text } : { type: "thinking_delta", thinking: text } };
  }

  for await (const chunk of source) {
    // Only once the first chunk is in: a request that fails before it (a capability, a full queue) keeps its status.
    if (!started) {
      started = true;
      yield {
        type: "message_start",
        message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: empty },
      };
      yield { type: "ping" };
    }
    const m = chunk.message;
    yield* extend("thinking", m.thinking ?? "");
    yield* extend("text", m.content);
    for (const call of m.tool_calls ?? []) {
      yield* close();
      calledTools = true;
      index++;
      yield { type: "content_block_start", index, content_block: { type: "tool_use", id: call.id ?? "", name: call.function.name, input: {} } };
      // The parser hands over a whole call; it goes out as one input_json_delta, as Ollama sends it.
      yield { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(call.function.arguments ?? {}) } };
      yield { type: "content_block_stop", index };
    }
    if (chunk.done) {
      yield* close();
      yield { type: "message_delta", delta: stopOf(chunk, calledTools, stopSequences), usage: anthropicUsage(chunk) };
      yield { type: "message_stop" };
    }
  }
}
