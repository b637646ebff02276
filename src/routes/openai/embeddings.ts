// POST /v1/embeddings: rewritten to /api/embed (which cannot embed yet, so it answers with its error).
import { Elysia } from "elysia";
import { fromEmbeddingRequest } from "../../api/openai.ts";
import { EmbeddingList, OpenAIEmbeddingRequest, OpenAIError } from "../../schemas/index.ts";
import type { AppContext } from "../context.ts";
import { refuseEmbedding } from "../embed.ts";

export function openAIEmbeddingRoutes(app: AppContext) {
  return new Elysia({ name: "openai-embeddings" }).post(
    "/v1/embeddings",
    ({ body }): EmbeddingList => {
      const embed = fromEmbeddingRequest(body);
      return refuseEmbedding(app, embed.model, undefined);
    },
    {
      body: OpenAIEmbeddingRequest,
      parse: "json",
      response: { 200: EmbeddingList, 400: OpenAIError, 404: OpenAIError },
      detail: { summary: "OpenAI embeddings (no embedding models are supported yet)", tags: ["openai"] },
    },
  );
}
