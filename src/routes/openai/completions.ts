// POST /v1/completions: rewritten to /api/generate and back.
import { Elysia } from "elysia";
import { completionId } from "../../api/ids.ts";
import { completionChunks, fromCompletionRequest, toCompletion } from "../../api/openai.ts";
import { sseResponse } from "../../api/ndjson.ts";
import { monotonicNs } from "../../api/time.ts";
import { Completion, CompletionRequest, OpenAIError } from "../../schemas/index.ts";
import { aggregateGenerate } from "../aggregate.ts";
import type { AppContext } from "../context.ts";
import { generateChunks } from "../generate.ts";

export function openAICompletionRoutes(app: AppContext) {
  return new Elysia({ name: "openai-completions" }).post(
    "/v1/completions",
    async ({ body, request }) => {
      const generate = fromCompletionRequest(body);
      const id = completionId();
      const chunks = generateChunks(app, generate, request.signal, monotonicNs());
      if (generate.stream) {
        return sseResponse(completionChunks(chunks, id, body.stream_options?.include_usage === true), { signal: request.signal });
      }
      return Response.json(toCompletion(id, await aggregateGenerate(chunks)));
    },
    {
      body: CompletionRequest,
      parse: "json",
      response: { 200: Completion, 400: OpenAIError, 404: OpenAIError, 500: OpenAIError },
      detail: { summary: "OpenAI (legacy) text completions", tags: ["openai"] },
    },
  );
}
