// POST /v1/responses and GET /v1/responses/{id} (OpenAI Responses): rewritten to /api/chat and back, as Ollama's
// middleware/openai.go ResponsesMiddleware does, plus previous_response_id and retrieval from an in-memory store.
import { Elysia, t } from "elysia";
import { messageFor, openAIErrorResponse } from "../../api/errors.ts";
import { responseId } from "../../api/ids.ts";
import { typedSseResponse } from "../../api/ndjson.ts";
import { fromResponsesRequest } from "../../api/responses.ts";
import { outputItemsOf, responseObject, responseStreamEvents, type ResponseFrame } from "../../api/responses-output.ts";
import { OpenAIError, ResponseObject, ResponsesRequest } from "../../schemas/index.ts";
import { aggregateChat } from "../aggregate.ts";
import { chatChunks } from "../chat.ts";
import type { AppContext } from "../context.ts";
import { ResponseStore } from "./response-store.ts";

/** A stream's error event (Responses' `error` type); its number follows no event the client could have counted. */
const streamError = (error: unknown) => ({ type: "error", code: null, message: messageFor(error), param: null, sequence_number: 0 });

export function openAIResponseRoutes(app: AppContext) {
  const store = new ResponseStore();
  return new Elysia({ name: "openai-responses" })
    .post(
      "/v1/responses",
      async ({ body, request }) => {
        const history = body.previous_response_id ? store.conversation(body.previous_response_id) : [];
        const { chat, conversation } = fromResponsesRequest(body, history);
        const frame: ResponseFrame = { id: responseId(), createdAt: Math.floor(Date.now() / 1000), request: body };
        const remember = (response: ResponseObject) => {
          if (body.store !== false) store.put(response, conversation);
        };
        const chunks = chatChunks(app, chat, request.signal);
        if (body.stream === true) {
          const events = responseStreamEvents(chunks, frame, remember);
          return typedSseResponse(events, { event: streamError, response: openAIErrorResponse }, { signal: request.signal });
        }
        const done = await aggregateChat(chunks);
        const response = responseObject(frame, outputItemsOf(done), done);
        remember(response);
        return Response.json(response);
      },
      {
        body: ResponsesRequest,
        parse: "json",
        response: { 200: ResponseObject, 400: OpenAIError, 404: OpenAIError, 500: OpenAIError, 503: OpenAIError },
        detail: {
          summary: "OpenAI Responses",
          description:
            "input as a string or items (messages, function_call, function_call_output); previous_response_id continues a stored " +
            "response (the latest 512 are kept in memory; store:false keeps none). stream:true answers with typed SSE events.",
          tags: ["openai"],
        },
      },
    )
    .get("/v1/responses/:id", ({ params }) => store.get(params.id), {
      params: t.Object({ id: t.String() }),
      response: { 200: ResponseObject, 404: OpenAIError },
      detail: { summary: "A stored OpenAI Response", tags: ["openai"] },
    });
}
