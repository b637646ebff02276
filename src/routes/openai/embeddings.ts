// POST /v1/embeddings: Ollama's /api/embed with OpenAI's request and response shapes (openai.go EmbeddingsMiddleware).
import { Elysia } from "elysia";
import { fromEmbeddingRequest, toEmbeddingList } from "../../api/openai.ts";
import { EmbeddingList, OpenAIEmbeddingRequest, OpenAIError } from "../../schemas/index.ts";
import type { AppContext } from "../context.ts";
import { embedInputs } from "../embed.ts";

export function openAIEmbeddingRoutes(app: AppContext) {
  return new Elysia({ name: "openai-embeddings" }).post(
    "/v1/embeddings",
    async ({ body, request }): Promise<EmbeddingList> => {
      const embed = fromEmbeddingRequest(body);
      const r = await embedInputs(app, { model: embed.model, inputs: embed.input, dimensions: embed.dimensions ?? 0 }, request.signal);
      return toEmbeddingList(embed.model, { model: embed.model, embeddings: r.embeddings, prompt_eval_count: r.promptTokens }, body.encoding_format);
    },
    {
      body: OpenAIEmbeddingRequest,
      parse: "json",
      response: { 200: EmbeddingList, 400: OpenAIError, 404: OpenAIError, 500: OpenAIError, 503: OpenAIError },
      detail: { summary: "OpenAI embeddings: float lists or base64 (little-endian float32)", tags: ["openai"] },
    },
  );
}
