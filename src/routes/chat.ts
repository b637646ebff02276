// POST /api/chat: the next assistant message of a conversation (server/routes.go ChatHandler). A model with a Go
// TEMPLATE layer has it rendered here, as Ollama does (go-prompt.ts); otherwise the runner renders the model's Jinja
// chat template. The reply is read back into thinking, content and tool calls (reply.ts).
import { Elysia } from "elysia";
import { CapabilityError, InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { normalizeRoles } from "../api/messages.ts";
import { ndjsonResponse } from "../api/ndjson.ts";
import { createdAt, monotonicNs } from "../api/time.ts";
import type { OutputConstraint } from "../engine/protocol.ts";
import { promptOpensThinking, stripThinking, type ThinkingTags } from "../formats/tools/thinking.ts";
import type { ChatMessage } from "../formats/tokenizer/chat-template.ts";
import { ChatRequest, ChatResponse, ErrorResponse, type Message } from "../schemas/index.ts";
import { aggregateChat } from "./aggregate.ts";
import { findModel, type AppContext } from "./context.ts";
import { infer, loadOrUnload, prepare } from "./inference.ts";
import { chooseGoTemplate, renderGoPrompt } from "./go-prompt.ts";
import { isHarmonyTemplate } from "../formats/tools/harmony.ts";
import { ReplyParser, chatReplyChunks } from "./reply.ts";
import { chatTemplateSource, promptStartsInThinking, thinkingEnabled, thinkingTagsOf, toolFormatOf } from "./reply-format.ts";
import { allowedTools, checkToolMessages, checkTools, forcedCallConstraint, forcesCall } from "./tool-choice.ts";
import { rejectUnsupported } from "./unsupported.ts";

function toChatMessage(m: Message): ChatMessage {
  const out: ChatMessage = { role: m.role, content: m.content ?? "" };
  if (m.thinking) out.thinking = m.thinking;
  if (m.tool_calls && m.tool_calls.length > 0) {
    out.tool_calls = m.tool_calls.map((call) => ({
      ...(call.id ? { id: call.id } : {}),
      type: "function",
      function: { name: call.function.name, arguments: call.function.arguments },
    }));
  }
  if (m.tool_name) out.name = m.tool_name;
  if (m.tool_call_id) out.tool_call_id = m.tool_call_id;
  return out;
}

/** The native chat stream; everything that can fail does so before the first chunk. */
export async function* chatChunks(
  app: AppContext,
  body: ChatRequest,
  signal: AbortSignal,
  startNs: bigint = monotonicNs(),
  /** what Ollama's chat body has no field for: a thought's token budget (Anthropic's thinking.budget_tokens) */
  extra: { thinkBudget?: number } = {},
): AsyncGenerator<ChatResponse> {
  if (!body.model) throw new InvalidRequestError(MESSAGES.modelRequired);
  const model = findModel(app.store, body.model);
  const requested = normalizeRoles(body.messages ?? []);
  if (requested.some((m) => m.images && m.images.length > 0)) throw new InvalidRequestError(MESSAGES.noImageInput);
  rejectUnsupported(body);
  const prepared = prepare(model, app, body, { route: "chat", name: body.model });
  const tools = body.tools ?? [];
  if (tools.length > 0 && !prepared.capabilities.includes("tools")) throw new CapabilityError(model.display, ["tools"]);
  checkTools(tools);
  checkToolMessages(requested);
  const choice = body.tool_choice;
  const callable = allowedTools(tools, choice);
  // "none": the model is not told about the tools at all, so it cannot call them.
  const offered = choice === "none" ? [] : tools;

  if (requested.length === 0) {
    const reason = await loadOrUnload(app, prepared, signal);
    yield { model: body.model, created_at: createdAt(), message: { role: "assistant", content: "" }, done: true, done_reason: reason };
    return;
  }

  // A forced call starts at the first token, so thinking stays off unless asked for: the template then renders
  // the turn the way the model answers without thinking.
  const thinkUnset = body.think === undefined || body.think === null;
  if (forcesCall(choice) && thinkUnset && prepared.templateKwargs) prepared.templateKwargs.enable_thinking = false;
  const source = chatTemplateSource(app, prepared);
  const thinking = thinkingEnabled(prepared);
  const tags = thinkingTagsOf(source);
  // Modelfile MESSAGEs come first; its SYSTEM goes in front unless the conversation starts with its own.
  const conversation = [...(prepared.layers.messages ?? []), ...requested];
  const messages = withoutEarlierThinking(conversation, prepared.capabilities.includes("thinking") ? tags : undefined).map(toChatMessage);
  const system = prepared.layers.system;
  if (system && requested[0]?.role !== "system") messages.unshift({ role: "system", content: system });

  // A Go template renders here and the runner gets the text; the runner's Jinja rendering is replayed instead.
  const goTemplate = chooseGoTemplate(undefined, prepared.layers);
  const rendered = goTemplate ? renderGoPrompt(goTemplate, { messages, tools: offered, think: body.think }) : undefined;
  const startInThinking =
    thinking &&
    (rendered !== undefined
      ? promptOpensThinking(rendered, tags)
      : promptStartsInThinking(source, messages, offered, prepared.templateKwargs, tags));
  const toolFormat = offered.length > 0 ? toolFormatOf(source) : undefined;
  let constraint: OutputConstraint | undefined;
  if (toolFormat && forcesCall(choice)) {
    if (body.format) throw new InvalidRequestError("tool_choice that forces a call cannot be combined with format");
    // A prompt that opened a thought gets it closed first, so the forced call is content, not thinking.
    constraint = forcedCallConstraint(toolFormat, callable, startInThinking ? `${tags.close}\n\n` : "");
  }
  const prompted = rendered !== undefined ? { prompt: rendered } : { messages, ...(offered.length > 0 ? { tools: offered } : {}) };
  const budget = thinking && extra.thinkBudget !== undefined ? { thinkBudget: extra.thinkBudget } : {};
  const input = { ...prompted, ...(constraint ? { constraint } : {}), ...budget };
  const parser = new ReplyParser({ toolFormat, thinkingTags: thinking ? tags : undefined, startInThinking, harmony: isHarmonyTemplate(source) });
  yield* chatReplyChunks(infer(app, prepared, input, signal, startNs), parser, body.model, createdAt);
}

/**
 * Assistant turns before the last user message lose their <think>…</think> text, as Ollama's filterThinkTags does
 * for thinking models: history thoughts cost context and templates drop them anyway.
 */
function withoutEarlierThinking(messages: Message[], tags: ThinkingTags | undefined): Message[] {
  if (!tags) return messages;
  const lastUser = messages.findLastIndex((m) => m.role === "user");
  return messages.map((m, i) =>
    i < lastUser && m.role === "assistant" && m.content ? { ...m, content: stripThinking(m.content, tags) } : m,
  );
}

export function chatRoutes(app: AppContext) {
  return new Elysia({ name: "chat" }).post(
    "/api/chat",
    async ({ body, request }) => {
      const chunks = chatChunks(app, body, request.signal);
      if (body.stream === false) return Response.json(await aggregateChat(chunks));
      return ndjsonResponse(chunks, { signal: request.signal });
    },
    {
      body: ChatRequest,
      parse: "json",
      response: { 200: ChatResponse, 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse },
      detail: {
        summary: "Chat with a model",
        description:
          "Streams NDJSON ChatResponse chunks (stream:true, the default) or returns one aggregated object. " +
          "Empty messages load the model (done_reason \"load\"); with keep_alive 0 they unload it (\"unload\").",
        tags: ["chat"],
      },
    },
  );
}
