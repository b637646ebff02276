// POST /api/embed (batch, L2-normalized) and the legacy POST /api/embeddings (api.EmbedRequest, api.EmbeddingRequest).
import { t, type Static } from "elysia";
import { Int, Omittable } from "./go-json.ts";
import { KeepAlive } from "./common.ts";
import { Options } from "./options.ts";

export const EmbedRequest = t.Object(
  {
    // a missing model is Ollama's 404 `model '' not found` (EmbedHandler), like an empty one
    model: t.String({ error: "model '' not found", "x-error-status": 404 }),
    input: Omittable(t.Union([t.String(), t.Array(t.String())], { error: "invalid input type" })),
    truncate: Omittable(t.Boolean({ description: "default true; false errors when an input exceeds the context" })),
    dimensions: Omittable(Int({ description: "truncate each vector to this length, then re-normalize" })),
    keep_alive: Omittable(KeepAlive),
    options: Omittable(Options),
  },
  { title: "EmbedRequest" },
);

export const EmbedResponse = t.Object(
  {
    model: t.String(),
    embeddings: t.Array(t.Array(t.Number())),
    total_duration: t.Optional(Int()),
    load_duration: t.Optional(Int()),
    prompt_eval_count: t.Optional(Int()),
  },
  { title: "EmbedResponse" },
);

export const EmbeddingRequest = t.Object(
  {
    model: t.String({ error: "model is required" }),
    prompt: Omittable(t.String()),
    keep_alive: Omittable(KeepAlive),
    options: Omittable(Options),
  },
  { title: "EmbeddingRequest" },
);

/** Not normalized; an empty prompt gives `{"embedding": []}`. */
export const EmbeddingResponse = t.Object({ embedding: t.Array(t.Number()) }, { title: "EmbeddingResponse" });

export type EmbedRequest = Static<typeof EmbedRequest>;
export type EmbedResponse = Static<typeof EmbedResponse>;
export type EmbeddingRequest = Static<typeof EmbeddingRequest>;
export type EmbeddingResponse = Static<typeof EmbeddingResponse>;
