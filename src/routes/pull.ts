// POST /api/pull (server/routes.go PullHandler): {model, insecure?, stream?} → NDJSON progress, or with stream:false
// only the last object. The request's signal is the pull's: a client that goes away stops the downloads, leaving
// their partial files for the next pull to resume; the model is listed only once its manifest is written.
import { Elysia } from "elysia";
import { progressResponse } from "../api/ndjson.ts";
import { ErrorResponse, ProgressResponse, PullRequest } from "../schemas/index.ts";
import { pullModel, type PullOptions } from "../store/pull.ts";
import { checkModelName, type AppContext } from "./context.ts";

export function pullRoutes(app: Pick<AppContext, "store">, options: Pick<PullOptions, "env"> = {}) {
  return new Elysia({ name: "pull" }).post(
    "/api/pull",
    async ({ body, request }) => {
      const model = body.model || body.name || "";
      checkModelName(model);
      const progress = pullModel(app.store, model, { insecure: body.insecure ?? false, signal: request.signal, env: options.env });
      return progressResponse(progress, body.stream, request.signal);
    },
    {
      body: PullRequest,
      parse: "json",
      response: { 200: ProgressResponse, 400: ErrorResponse, 500: ErrorResponse },
      detail: {
        summary: "Download a model from Hugging Face or an Ollama registry",
        description:
          "hf.co/<org>/<repo>[:quant], huggingface.co/..., and <org>/<repo> of MLX publishers (mlx-community, " +
          "lmstudio-community) come from Hugging Face (HF_ENDPOINT, HF_TOKEN); any other name from its Ollama registry. " +
          "Downloads resume after an interruption; every blob is verified against its sha256.",
        tags: ["models"],
      },
    },
  );
}
