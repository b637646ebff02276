// POST /api/generate: a completion from a prompt (server/routes.go GenerateHandler).
import { Elysia } from "elysia";
import { CapabilityError, InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { ndjsonResponse } from "../api/ndjson.ts";
import { createdAt, monotonicNs } from "../api/time.ts";
import type { ChatMessage } from "../formats/tokenizer/chat-template.ts";
import { ErrorResponse, GenerateRequest, GenerateResponse } from "../schemas/index.ts";
import { aggregateGenerate } from "./aggregate.ts";
import { findModel, type AppContext } from "./context.ts";
import { infer, loadOrUnload, prepare } from "./inference.ts";
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
  if (body.suffix) throw new CapabilityError(model.display, ["insert"]);
  const prepared = prepare(model, app, body);
  const prompt = body.prompt ?? "";
  if (prompt === "") {
    const reason = await loadOrUnload(app, prepared, signal);
    yield { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: reason };
    return;
  }

  let input: { prompt: string } | { messages: ChatMessage[] };
  if (body.raw) input = { prompt };
  else {
    const messages: ChatMessage[] = [];
    const system = body.system ?? prepared.layers.system;
    if (system) messages.push({ role: "system", content: system });
    for (const m of prepared.layers.messages ?? []) messages.push({ role: m.role, content: m.content ?? "" });
    messages.push({ role: "user", content: prompt });
    input = { messages };
  }
  for await (const event of infer(app, prepared, input, signal, startNs)) {
    if (event.type === "delta") {
      const chunk: GenerateResponse = { model: body.model, created_at: createdAt(), response: event.text, done: false };
      if (event.logprobs) chunk.logprobs = event.logprobs;
      yield chunk;
    } else {
      // `context` (the conversation's token ids) is omitted: the runner does not report the prompt's tokens yet.
      yield { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: event.doneReason, ...event.metrics };
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
