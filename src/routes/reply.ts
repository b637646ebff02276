// A model's reply as the API shows it: generated text split into thinking, content and tool calls, streamed.
// Thinking is split off first (tool calls inside a thought are the model musing, not calling), then the
// content is read for calls in the model family's syntax. Each call gets Ollama's `call_` id when complete.
import { toolCallId } from "../api/ids.ts";
import { STOP_SEQUENCE, type WithStopSequence } from "../api/stop-sequence.ts";
import { createToolCallParser, type ToolCallParser, type ToolFormat } from "../formats/tools/parser.ts";
import { ThinkingSplitter, type ThinkingTags } from "../formats/tools/thinking.ts";
import { HarmonyParser, type HarmonyParts } from "../formats/tools/harmony.ts";
import type { ChatResponse, Logprob, ToolCall } from "../schemas/index.ts";
import type { InferenceEvent } from "./inference.ts";

export interface ReplyParts {
  thinking: string;
  content: string;
  toolCalls: ToolCall[];
}

export interface ReplyOptions {
  /** Parse tool calls in this syntax (tools were offered and tool_choice is not "none"). */
  toolFormat?: ToolFormat;
  /** Split thinking off with these tags (the model thinks and thinking is on). */
  thinkingTags?: ThinkingTags;
  /** The rendered prompt already opened the thinking block (the reply starts inside it). */
  startInThinking?: boolean;
  /**
   * The template writes OpenAI's harmony (gpt-oss): channels instead of tags, read by formats/tools/harmony.ts; the
   * analysis channel is always thinking, and calls are parsed when a toolFormat is given.
   */
  harmony?: boolean;
}

export class ReplyParser {
  private readonly thinking: ThinkingSplitter | undefined;
  private readonly tools: ToolCallParser | undefined;
  private readonly harmony: HarmonyParser | undefined;

  constructor(options: ReplyOptions) {
    if (options.harmony) {
      this.harmony = new HarmonyParser(options.toolFormat !== undefined);
      return;
    }
    if (options.thinkingTags) this.thinking = new ThinkingSplitter(options.thinkingTags, options.startInThinking ?? false);
    if (options.toolFormat) this.tools = createToolCallParser(options.toolFormat);
  }

  push(text: string): ReplyParts {
    if (this.harmony) return withIds(this.harmony.push(text));
    const split = this.thinking ? this.thinking.push(text) : { thinking: "", content: text };
    return this.readContent(split.thinking, split.content, false);
  }

  /** End of generation: everything held is released (an unfinished call as content). */
  flush(): ReplyParts {
    if (this.harmony) return withIds(this.harmony.flush());
    const split = this.thinking ? this.thinking.flush() : { thinking: "", content: "" };
    return this.readContent(split.thinking, split.content, true);
  }

  private readContent(thinking: string, content: string, final: boolean): ReplyParts {
    if (!this.tools) return { thinking, content, toolCalls: [] };
    const parsed = this.tools.push(content);
    if (final) {
      const rest = this.tools.flush();
      parsed.content += rest.content;
      parsed.toolCalls.push(...rest.toolCalls);
    }
    const toolCalls = parsed.toolCalls.map((call) => ({ id: toolCallId(), function: call.function }));
    return { thinking, content: parsed.content, toolCalls };
  }
}

function withIds(parts: HarmonyParts): ReplyParts {
  return { thinking: parts.thinking, content: parts.content, toolCalls: parts.toolCalls.map((call) => ({ id: toolCallId(), function: call })) };
}

function isEmpty(parts: ReplyParts): boolean {
  return parts.thinking === "" && parts.content === "" && parts.toolCalls.length === 0;
}

export type ReplyEvent =
  | { type: "parts"; parts: ReplyParts; logprobs?: Logprob[] }
  | Extract<InferenceEvent, { type: "done" }>;

/**
 * Inference events read through the parser. Text held back (a possible tag) yields nothing, and its logprobs ride
 * on the next parts that go out; what the parser holds at the end is released just before the done event.
 */
export async function* readReply(events: AsyncIterable<InferenceEvent>, parser: ReplyParser): AsyncGenerator<ReplyEvent> {
  let pending: Logprob[] = [];
  const out = (parts: ReplyParts): ReplyEvent => {
    const event: ReplyEvent = { type: "parts", parts };
    if (pending.length > 0) event.logprobs = pending;
    pending = [];
    return event;
  };
  for await (const event of events) {
    if (event.type === "delta") {
      if (event.logprobs) pending.push(...event.logprobs);
      const parts = parser.push(event.text);
      if (!isEmpty(parts)) yield out(parts);
    } else {
      const parts = parser.flush();
      if (!isEmpty(parts) || pending.length > 0) yield out(parts);
      yield event;
    }
  }
}

/** Native chat chunks: one per released piece (content, thinking, whole tool calls), then the done chunk with "". */
export async function* chatReplyChunks(
  events: AsyncIterable<InferenceEvent>,
  parser: ReplyParser,
  model: string,
  now: () => string,
): AsyncGenerator<ChatResponse> {
  for await (const event of readReply(events, parser)) {
    if (event.type === "parts") {
      const { thinking, content, toolCalls } = event.parts;
      const message: ChatResponse["message"] = { role: "assistant", content };
      if (thinking) message.thinking = thinking;
      if (toolCalls.length > 0) message.tool_calls = toolCalls;
      const chunk: ChatResponse = { model, created_at: now(), message, done: false };
      if (event.logprobs) chunk.logprobs = event.logprobs;
      yield chunk;
    } else {
      const message = { role: "assistant", content: "" };
      const done: ChatResponse & WithStopSequence = { model, created_at: now(), message, done: true, done_reason: event.doneReason, ...event.metrics };
      if (event.stopSequence !== undefined) done[STOP_SEQUENCE] = event.stopSequence;
      yield done;
    }
  }
}
