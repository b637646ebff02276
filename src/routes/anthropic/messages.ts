// POST /v1/messages and /v1/messages/count_tokens (Anthropic Messages): rewritten to /api/chat and back, as Ollama's
// middleware/anthropic.go does; errors in Anthropic's envelope (server.ts picks it by path).
import { Elysia } from "elysia";
import { fromAnthropicPrompt, fromAnthropicRequest } from "../../api/anthropic.ts";
import { anthropicStreamEvents, toAnthropicMessage } from "../../api/anthropic-response.ts";
import { anthropicErrorBody, anthropicErrorResponse } from "../../api/errors.ts";
import { anthropicMessageId } from "../../api/ids.ts";
import { typedSseResponse } from "../../api/ndjson.ts";
import {
  AnthropicCountTokensRequest,
  AnthropicCountTokensResponse,
  AnthropicError,
  AnthropicMessageResponse,
  AnthropicMessagesRequest,
} from "../../schemas/index.ts";
import { aggregateChat } from "../aggregate.ts";
import { chatChunks } from "../chat.ts";
import { findModel, type AppContext } from "../context.ts";
import { capabilitiesOf, readModelLayers } from "../model-layers.ts";

const errors = { 400: AnthropicError, 404: AnthropicError, 500: AnthropicError, 503: AnthropicError };

/** Whether the named model thinks: Anthropic's `thinking` is then passed on, and dropped for one that does not. */
function modelThinks(app: AppContext, name: string): boolean {
  const model = findModel(app.store, name);
  return capabilitiesOf(model, readModelLayers(app.store, model)).includes("thinking");
}

export function anthropicRoutes(app: AppContext) {
  return new Elysia({ name: "anthropic" })
    .post(
      "/v1/messages",
      async ({ body, request }) => {
        const chat = fromAnthropicRequest(body, modelThinks(app, body.model));
        const id = anthropicMessageId();
        const budget = body.thinking?.type === "enabled" ? body.thinking.budget_tokens : undefined;
        const chunks = chatChunks(app, chat, request.signal, undefined, budget !== undefined ? { thinkBudget: budget } : {});
        if (body.stream === true) {
          const events = anthropicStreamEvents(chunks, id, body.model, body.stop_sequences);
          return typedSseResponse(events, { event: (error) => anthropicErrorBody(error), response: anthropicErrorResponse }, { signal: request.signal });
        }
        return Response.json(toAnthropicMessage(id, body.model, await aggregateChat(chunks), body.stop_sequences));
      },
      {
        body: AnthropicMessagesRequest,
        parse: "json",
        response: { 200: AnthropicMessageResponse, ...errors },
        detail: {
          summary: "Anthropic Messages",
          description:
            "stream:true answers with SSE events (message_start, ping, content_block_start/delta/stop, message_delta, message_stop). " +
            "tool_choice any/tool force one call by constrained decoding; image blocks are refused (no vision models yet).",
          tags: ["anthropic"],
        },
      },
    )
    .post(
      "/v1/messages/count_tokens",
      async ({ body, request }) => {
        // The prompt is rendered as /v1/messages renders it and prefilled by the runner, one token generated and
        // dropped, so the count is exactly what /v1/messages would read (BOS and num_ctx fitting included).
        const chat = fromAnthropicPrompt(body, modelThinks(app, body.model));
        const counted = await aggregateChat(chatChunks(app, { ...chat, options: { num_predict: 1, temperature: 0 }, stream: true }, request.signal));
        return { input_tokens: counted.prompt_eval_count ?? 0 };
      },
      {
        body: AnthropicCountTokensRequest,
        parse: "json",
        response: { 200: AnthropicCountTokensResponse, ...errors },
        detail: { summary: "Anthropic token count of a Messages prompt", tags: ["anthropic"] },
      },
    );
}
