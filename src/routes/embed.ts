// POST /api/embed and the legacy POST /api/embeddings (server/routes.go EmbedHandler, EmbeddingsHandler); /v1/embeddings
// goes through embedInputs too. The model must have the embedding capability; its runner pools, this normalizes.
import { Elysia } from "elysia";
import { InvalidRequestError, MESSAGES, ModelNotFoundError } from "../api/errors.ts";
import { parseKeepAlive } from "../api/duration.ts";
import { checkDimensions, shapeEmbedding } from "../api/embedding.ts";
import { resolveOptions } from "../api/options.ts";
import { elapsedNs, monotonicNs } from "../api/time.ts";
import { EmbedRequest, EmbedResponse, EmbeddingRequest, EmbeddingResponse, ErrorResponse } from "../schemas/index.ts";
import { findModel, type AppContext } from "./context.ts";
import { capabilitiesOf, readModelLayers } from "./model-layers.ts";

export const NO_EMBEDDINGS = "this model does not support embeddings";

export interface EmbedCall {
  model: string;
  /** texts, or token ids (/v1/embeddings) */
  inputs: (string | number[])[];
  truncate?: boolean | null;
  /** null: the pooled vectors as they are (the legacy route); else normalized and cut to this many (0: all) */
  dimensions: number | null;
  keepAlive?: unknown;
  options?: Record<string, unknown> | null;
}

export interface EmbedResult {
  embeddings: number[][];
  promptTokens: number;
  loadDurationNs: number;
  totalNs: number;
}

/** Schedules the model (loading it, even for no inputs, as Ollama does) and embeds the inputs in its runner. */
export async function embedInputs(app: AppContext, call: EmbedCall, signal?: AbortSignal, startNs = monotonicNs()): Promise<EmbedResult> {
  const keepAliveMs = parseKeepAlive(call.keepAlive);
  const model = findModel(app.store, call.model, (n) => (n ? ModelNotFoundError.whileScheduling(n) : new ModelNotFoundError(n)));
  const layers = readModelLayers(app.store, model);
  if (!capabilitiesOf(model, layers).includes("embedding")) throw new InvalidRequestError(NO_EMBEDDINGS);
  checkDimensions(call.dimensions, model.config.embedding_length);
  const options = resolveOptions({ model: layers.params, request: call.options });
  const lease = await app.scheduler.acquire(model, { keepAliveMs, signal });
  try {
    const result = call.inputs.length > 0
      ? await lease.embed({ inputs: call.inputs, truncate: call.truncate !== false, numCtx: options.num_ctx }, signal)
      : { embeddings: [], promptTokens: 0 };
    const embeddings = call.dimensions === null ? result.embeddings : result.embeddings.map((v) => shapeEmbedding(v, call.dimensions));
    return { embeddings, promptTokens: result.promptTokens, loadDurationNs: lease.loadDurationNs, totalNs: elapsedNs(startNs) };
  } finally {
    lease.release();
  }
}

export function embedRoutes(app: AppContext) {
  const responses = { 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };
  return new Elysia({ name: "embed" })
    .post(
      "/api/embed",
      async ({ body, request }): Promise<EmbedResponse> => {
        const startNs = monotonicNs();
        // as Ollama: "" is no input at all (an empty list of embeddings); [""] embeds the empty string
        const inputs = typeof body.input === "string" ? (body.input ? [body.input] : []) : (body.input ?? []);
        const r = await embedInputs(
          app,
          { model: body.model, inputs, truncate: body.truncate, dimensions: body.dimensions ?? 0, keepAlive: body.keep_alive, options: body.options },
          request.signal,
          startNs,
        );
        if (inputs.length === 0) return { model: body.model, embeddings: [] };
        return { model: body.model, embeddings: r.embeddings, total_duration: r.totalNs, load_duration: r.loadDurationNs, prompt_eval_count: r.promptTokens };
      },
      {
        body: EmbedRequest,
        parse: "json",
        response: { 200: EmbedResponse, ...responses },
        detail: { summary: "L2-normalized embeddings for one input or a list of them", tags: ["embed"] },
      },
    )
    .post(
      "/api/embeddings",
      async ({ body, request }): Promise<EmbeddingResponse> => {
        if (!body.model) throw new InvalidRequestError(MESSAGES.modelRequired);
        const prompt = body.prompt ?? "";
        const inputs = prompt ? [prompt] : [];
        const r = await embedInputs(app, { model: body.model, inputs, dimensions: null, keepAlive: body.keep_alive, options: body.options }, request.signal);
        return { embedding: r.embeddings[0] ?? [] };
      },
      {
        body: EmbeddingRequest,
        parse: "json",
        response: { 200: EmbeddingResponse, ...responses },
        detail: { summary: "Legacy single embedding (not normalized, as Ollama's)", tags: ["embed"] },
      },
    );
}
