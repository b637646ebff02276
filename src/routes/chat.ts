// POST /api/chat: the next assistant message of a conversation (server/routes.go ChatHandler). The runner renders
// the model's chat template; tools are handed to the template (tool-call parsing of the output is not built yet).
import { Elysia } from "elysia";
import { CapabilityError, InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { normalizeRoles } from "../api/messages.ts";
import { ndjsonResponse } from "../api/ndjson.ts";
import { createdAt, monotonicNs } from "../api/time.ts";
import type { ChatMessage } from "../formats/tokenizer/chat-template.ts";
import { ChatRequest, ChatResponse, ErrorResponse, type Message } from "../schemas/index.ts";
import { aggregateChat } from "./aggregate.ts";
import { findModel, type AppContext } from "./context.ts";
import { infer, loadOrUnload, prepare } from "./inference.ts";
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
): AsyncGenerator<ChatResponse> {
  if (!body.model) throw new InvalidRequestError(MESSAGES.modelRequired);
  const model = findModel(app.store, body.model);
  const requested = normalizeRoles(body.messages ?? []);
  if (requested.some((m) => m.images && m.images.length > 0)) throw new InvalidRequestError(MESSAGES.noImageInput);
  rejectUnsupported(body);
  const prepared = prepare(model, app, body);
  const tools = body.tools ?? [];
  if (tools.length > 0 && !prepared.capabilities.includes("tools")) throw new CapabilityError(model.display, ["tools"]);
  const reply = (content: string) => ({ role: "assistant", content });

  if (requested.length === 0) {
    const reason = await loadOrUnload(app, prepared, signal);
    yield { model: body.model, created_at: createdAt(), message: reply(""), done: true, done_reason: reason };
    return;
  }

  // Modelfile MESSAGEs come first; its SYSTEM goes in front unless the conversation starts with its own.
  const messages = [...(prepared.layers.messages ?? []), ...requested].map(toChatMessage);
  const system = prepared.layers.system;
  if (system && requested[0]?.role !== "system") messages.unshift({ role: "system", content: system });

  const input = tools.length > 0 ? { messages, tools } : { messages };
  for await (const event of infer(app, prepared, input, signal, startNs)) {
    if (event.type === "delta") {
      const chunk: ChatResponse = { model: body.model, created_at: createdAt(), message: reply(event.text), done: false };
      if (event.logprobs) chunk.logprobs = event.logprobs;
      yield chunk;
    } else {
      yield { model: body.model, created_at: createdAt(), message: reply(""), done: true, done_reason: event.doneReason, ...event.metrics };
    }
  }
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
