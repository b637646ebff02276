// POST /v1/chat/completions: rewritten to /api/chat and back (openai/openai.go, middleware/openai.go).
import { Elysia } from "elysia";
import { chatCompletionId } from "../../api/ids.ts";
import { chatCompletionChunks, fromChatCompletionRequest, toChatCompletion } from "../../api/openai.ts";
import { sseResponse } from "../../api/ndjson.ts";
import { ChatCompletion, ChatCompletionRequest, OpenAIError } from "../../schemas/index.ts";
import { aggregateChat } from "../aggregate.ts";
import { chatChunks } from "../chat.ts";
import type { AppContext } from "../context.ts";

export function openAIChatRoutes(app: AppContext) {
  return new Elysia({ name: "openai-chat" }).post(
    "/v1/chat/completions",
    async ({ body, request }) => {
      const chat = fromChatCompletionRequest(body);
      const id = chatCompletionId();
      const chunks = chatChunks(app, { ...chat, stream: true }, request.signal);
      if (chat.stream) {
        return sseResponse(chatCompletionChunks(chunks, id, body.stream_options?.include_usage === true), { signal: request.signal });
      }
      return Response.json(toChatCompletion(id, await aggregateChat(chunks)));
    },
    {
      body: ChatCompletionRequest,
      parse: "json",
      response: { 200: ChatCompletion, 400: OpenAIError, 404: OpenAIError, 500: OpenAIError },
      detail: {
        summary: "OpenAI chat completions",
        description: "stream:true answers with SSE chat.completion.chunk events and `data: [DONE]`.",
        tags: ["openai"],
      },
    },
  );
}
