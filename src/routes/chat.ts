// POST /api/chat: the next assistant message of a conversation (server/routes.go ChatHandler). prepare() decides
// everything about the turn (thinking, the prompt rendered from the Go TEMPLATE or the Jinja chat template, the
// constraint); the reply is read back into thinking, content and tool calls (reply.ts).
import { Elysia } from "elysia";
import { InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { normalizeRoles } from "../api/messages.ts";
import { ndjsonResponse } from "../api/ndjson.ts";
import { createdAt, monotonicNs } from "../api/time.ts";
import { ChatRequest, ChatResponse, ErrorResponse } from "../schemas/index.ts";
import { aggregateChat } from "./aggregate.ts";
import { findModel, type AppContext } from "./context.ts";
import { infer, loadOrUnload } from "./inference.ts";
import { prepare } from "./prepare.ts";
import { ReplyParser, chatReplyChunks } from "./reply.ts";
import { rejectUnsupported } from "./unsupported.ts";

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
  const messages = normalizeRoles(body.messages ?? []);
  if (messages.some((m) => m.images && m.images.length > 0)) throw new InvalidRequestError(MESSAGES.noImageInput);
  rejectUnsupported(body);
  const turn = { route: "chat" as const, messages, tools: body.tools ?? [], toolChoice: body.tool_choice, ...extra };
  const prepared = await prepare(app, model, body, turn, body.model);
  if (!prepared.params) {
    const reason = await loadOrUnload(app, prepared, signal);
    yield { model: body.model, created_at: createdAt(), message: { role: "assistant", content: "" }, done: true, done_reason: reason };
    return;
  }
  const parser = new ReplyParser(prepared.reply);
  yield* chatReplyChunks(infer(app, prepared, prepared.params, signal, startNs), parser, body.model, createdAt);
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
