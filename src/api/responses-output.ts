// Native chat responses → an OpenAI Response object and its typed stream events (OpenAI's Responses streaming
// reference; Ollama's openai/responses.go ResponsesStreamConverter emits the same events): response.created and
// in_progress, per output item output_item.added, its parts and deltas, output_item.done, then response.completed
// (or response.incomplete when max_output_tokens ran out). Every event carries a sequence_number from 0.
import type { ChatResponse, ResponseObject, ResponsesOutputItem, ResponsesRequest, ResponsesUsage } from "../schemas/index.ts";
import { responseItemId } from "./ids.ts";

/** What a Response echoes of its request, fixed when it starts. */
export interface ResponseFrame {
  id: string;
  createdAt: number;
  request: ResponsesRequest;
}

function usageOf(response: ChatResponse): ResponsesUsage {
  const input = response.prompt_eval_count ?? 0;
  const output = response.eval_count ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: response.prompt_eval_cached_count ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

/** The response object in any state: `done` (the final native chunk) sets status, usage and completion time. */
export function responseObject(frame: ResponseFrame, output: ResponsesOutputItem[], done?: ChatResponse): ResponseObject {
  const r = frame.request;
  const incomplete = done?.done_reason === "length";
  return {
    id: frame.id,
    object: "response",
    created_at: frame.createdAt,
    completed_at: done ? Math.floor(Date.now() / 1000) : null,
    status: done ? (incomplete ? "incomplete" : "completed") : "in_progress",
    incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
    error: null,
    model: r.model,
    output,
    usage: done ? usageOf(done) : null,
    instructions: r.instructions ?? null,
    previous_response_id: r.previous_response_id ?? null,
    store: r.store !== false,
    max_output_tokens: r.max_output_tokens ?? null,
    temperature: r.temperature ?? 1.0,
    top_p: r.top_p ?? 1.0,
    tool_choice: r.tool_choice ?? "auto",
    tools: r.tools ?? [],
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    text: r.text ?? { format: { type: "text" } },
    reasoning: r.reasoning ?? { effort: null, summary: null },
    truncation: r.truncation ?? "disabled",
    metadata: r.metadata ?? {},
  };
}

/** The output items of a whole (aggregated) reply: reasoning, then the message, then function calls. */
export function outputItemsOf(response: ChatResponse): ResponsesOutputItem[] {
  const m = response.message;
  const items: ResponsesOutputItem[] = [];
  if (m.thinking) items.push({ type: "reasoning", id: responseItemId("rs"), summary: [{ type: "summary_text", text: m.thinking }] });
  if (m.content) {
    items.push({
      type: "message",
      id: responseItemId("msg"),
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: m.content, annotations: [], logprobs: [] }],
    });
  }
  for (const call of m.tool_calls ?? []) {
    items.push({
      type: "function_call",
      id: responseItemId("fc"),
      call_id: call.id ?? "",
      name: call.function.name,
      arguments: JSON.stringify(call.function.arguments ?? {}),
      status: "completed",
    });
  }
  return items;
}

export type ResponseStreamEvent = { type: string; sequence_number: number } & Record<string, unknown>;

/** The item being streamed: text accumulates into a message or a reasoning summary until the other kind starts. */
interface OpenItem {
  kind: "message" | "reasoning";
  id: string;
  index: number;
  text: string;
}

/** Native chat chunks → Responses stream events; `onDone` gets the final object (to store it). */
export async function* responseStreamEvents(
  source: AsyncIterable<ChatResponse>,
  frame: ResponseFrame,
  onDone: (response: ResponseObject) => void,
): AsyncGenerator<ResponseStreamEvent> {
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>): ResponseStreamEvent => ({ type, sequence_number: sequence++, ...fields });
  const output: ResponsesOutputItem[] = [];
  let open: OpenItem | undefined;
  let started = false;

  function* close(): Generator<ResponseStreamEvent> {
    if (!open) return;
    const { id, index, text } = open;
    let item: ResponsesOutputItem;
    if (open.kind === "message") {
      const part = { type: "output_text" as const, text, annotations: [], logprobs: [] };
      yield event("response.output_text.done", { item_id: id, output_index: index, content_index: 0, text, logprobs: [] });
      yield event("response.content_part.done", { item_id: id, output_index: index, content_index: 0, part });
      item = { type: "message", id, status: "completed", role: "assistant", content: [part] };
    } else {
      const part = { type: "summary_text" as const, text };
      yield event("response.reasoning_summary_text.done", { item_id: id, output_index: index, summary_index: 0, text });
      yield event("response.reasoning_summary_part.done", { item_id: id, output_index: index, summary_index: 0, part });
      item = { type: "reasoning", id, summary: [part] };
    }
    output[index] = item;
    yield event("response.output_item.done", { output_index: index, item });
    open = undefined;
  }

  function* extend(kind: OpenItem["kind"], delta: string): Generator<ResponseStreamEvent> {
    if (!delta) return;
    if (open?.kind !== kind) {
      yield* close();
      open = { kind, id: responseItemId(kind === "message" ? "msg" : "rs"), index: output.length, text: "" };
      const { id, index } = open;
      if (kind === "message") {
        const item: ResponsesOutputItem = { type: "message", id, status: "in_progress", role: "assistant", content: [] };
        output.push(item);
        yield event("response.output_item.added", { output_index: index, item });
        yield event("response.content_part.added", { item_id: id, output_index: index, content_index: 0, part: { type: "output_text", text: "", annotations: [], logprobs: [] } });
      } else {
        const item: ResponsesOutputItem = { type: "reasoning", id, summary: [] };
        output.push(item);
        yield event("response.output_item.added", { output_index: index, item });
        yield event("response.reasoning_summary_part.added", { item_id: id, output_index: index, summary_index: 0, part: { type: "summary_text", text: "" } });
      }
    }
    open!.text += delta;
    const { id, index } = open!;
    yield kind === "message"
      ? event("response.output_text.delta", { item_id: id, output_index: index, content_index: 0, delta, logprobs: [] })
      : event("response.reasoning_summary_text.delta", { item_id: id, output_index: index, summary_index: 0, delta });
  }

  for await (const chunk of source) {
    // Only once the first chunk is in: a request that fails before it keeps its HTTP status.
    if (!started) {
      started = true;
      yield event("response.created", { response: responseObject(frame, []) });
      yield event("response.in_progress", { response: responseObject(frame, []) });
    }
    const m = chunk.message;
    yield* extend("reasoning", m.thinking ?? "");
    yield* extend("message", m.content);
    for (const call of m.tool_calls ?? []) {
      yield* close();
      const index = output.length;
      const id = responseItemId("fc");
      const args = JSON.stringify(call.function.arguments ?? {});
      const base = { type: "function_call" as const, id, call_id: call.id ?? "", name: call.function.name };
      output.push({ ...base, arguments: "", status: "in_progress" });
      yield event("response.output_item.added", { output_index: index, item: { ...base, arguments: "", status: "in_progress" } });
      // The parser hands over a whole call: its arguments go out as one delta.
      yield event("response.function_call_arguments.delta", { item_id: id, output_index: index, delta: args });
      yield event("response.function_call_arguments.done", { item_id: id, output_index: index, name: call.function.name, arguments: args });
      const item: ResponsesOutputItem = { ...base, arguments: args, status: "completed" };
      output[index] = item;
      yield event("response.output_item.done", { output_index: index, item });
    }
    if (chunk.done) {
      yield* close();
      const response = responseObject(frame, output, chunk);
      onDone(response);
      yield event(response.status === "incomplete" ? "response.incomplete" : "response.completed", { response });
    }
  }
}
