// POST /api/embed and the legacy /api/embeddings. The engine has no embedding models yet, so every model
// answers as Ollama does for a model without the capability.
import { Elysia } from "elysia";
import { InvalidRequestError, MESSAGES, ModelNotFoundError } from "../api/errors.ts";
import { parseKeepAlive } from "../api/duration.ts";
import { EmbedRequest, EmbedResponse, EmbeddingRequest, EmbeddingResponse, ErrorResponse } from "../schemas/index.ts";
import { findModel, type AppContext } from "./context.ts";

export const NO_EMBEDDINGS = "this model does not support embeddings";

/** Finds the model (404 in the scheduler's wording) and refuses: no model can embed yet. */
export function refuseEmbedding(app: AppContext, model: string, keepAlive: unknown): never {
  parseKeepAlive(keepAlive);
  findModel(app.store, model, (n) => (n ? ModelNotFoundError.whileScheduling(n) : new ModelNotFoundError(n)));
  throw new InvalidRequestError(NO_EMBEDDINGS);
}

export function embedRoutes(app: AppContext) {
  const responses = { 400: ErrorResponse, 404: ErrorResponse };
  return new Elysia({ name: "embed" })
    .post("/api/embed", ({ body }): EmbedResponse => refuseEmbedding(app, body.model, body.keep_alive), {
      body: EmbedRequest,
      parse: "json",
      response: { 200: EmbedResponse, ...responses },
      detail: { summary: "Embeddings for one or more inputs (no embedding models are supported yet)", tags: ["embed"] },
    })
    .post(
      "/api/embeddings",
      ({ body }): EmbeddingResponse => {
        if (!body.model) throw new InvalidRequestError(MESSAGES.modelRequired);
        return refuseEmbedding(app, body.model, body.keep_alive);
      },
      {
        body: EmbeddingRequest,
        parse: "json",
        response: { 200: EmbeddingResponse, ...responses },
        detail: { summary: "Legacy single embedding (no embedding models are supported yet)", tags: ["embed"] },
      },
    );
}
