// POST /api/generate: a completion from a prompt (server/routes.go GenerateHandler).
import { Elysia } from "elysia";
import { InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { ndjsonResponse } from "../api/ndjson.ts";
import { createdAt, monotonicNs } from "../api/time.ts";
import { ErrorResponse, GenerateRequest, GenerateResponse, type ToolCall } from "../schemas/index.ts";
import { aggregateGenerate } from "./aggregate.ts";
import { findModel, type AppContext } from "./context.ts";
import { infer, loadOrUnload } from "./inference.ts";
import { prepare } from "./prepare.ts";
import { ReplyParser, readReply } from "./reply.ts";
import { rejectUnsupported } from "./unsupported.ts";

export async function* generateChunks(
  app: AppContext,
  body: GenerateRequest,
  signal: AbortSignal,
  startNs: bigint,
): AsyncGenerator<GenerateResponse> {
  const model = findModel(app.store, body.model);
  if (body.raw && (body.template || body.system || (body.context && body.context.length > 0))) {
    throw new InvalidRequestError(MESSAGES.rawModeConflict);
  }
  if (body.images && body.images.length > 0) throw new InvalidRequestError(MESSAGES.noImageInput);
  rejectUnsupported(body);
  const turn = {
    route: "generate" as const,
    prompt: body.prompt ?? "",
    raw: body.raw === true,
    system: body.system,
    template: body.template,
    suffix: body.suffix,
    context: body.context,
  };
  const prepared = await prepare(app, model, body, turn, body.model);
  if (!prepared.params) {
    const reason = await loadOrUnload(app, prepared, signal);
    yield { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: reason };
    return;
  }
  const toolCalls: ToolCall[] = [];
  const parser = new ReplyParser(prepared.reply);
  for await (const event of readReply(infer(app, prepared, prepared.params, signal, startNs), parser)) {
    if (event.type === "parts") {
      const { thinking: thought, content } = event.parts;
      toolCalls.push(...event.parts.toolCalls);
      if (!thought && !content && !event.logprobs) continue; // only a call: it goes out with the done chunk
      const chunk: GenerateResponse = { model: body.model, created_at: createdAt(), response: content, done: false };
      if (thought) chunk.thinking = thought;
      if (event.logprobs) chunk.logprobs = event.logprobs;
      yield chunk;
    } else {
      const context = event.context ? { context: event.context } : {};
      const calls = toolCalls.length > 0 ? { tool_calls: toolCalls } : {};
      yield { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: event.doneReason, ...context, ...event.metrics, ...calls };
    }
  }
}

export function generateRoutes(app: AppContext) {
  return new Elysia({ name: "generate" }).post(
    "/api/generate",
    async ({ body, request }) => {
      const chunks = generateChunks(app, body, request.signal, monotonicNs());
      if (body.stream === false) return Response.json(await aggregateGenerate(chunks));
      return ndjsonResponse(chunks, { signal: request.signal });
    },
    {
      body: GenerateRequest,
      parse: "json",
      response: { 200: GenerateResponse, 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse },
      detail: {
        summary: "Generate a completion",
        description:
          "Streams NDJSON GenerateResponse chunks (stream:true, the default) or returns one aggregated object. " +
          "An empty prompt loads the model (done_reason \"load\"); with keep_alive 0 it unloads it (\"unload\").",
        tags: ["generate"],
      },
    },
  );
}
