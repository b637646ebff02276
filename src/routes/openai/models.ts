// GET /v1/models and /v1/models/:model, from the same store as /api/tags and /api/show.
import { Elysia, t } from "elysia";
import { ModelNotFoundError } from "../../api/errors.ts";
import { toModelList, toOpenAIModel } from "../../api/openai.ts";
import { ModelList, OpenAIError, OpenAIModel } from "../../schemas/index.ts";
import { findModel, type AppContext } from "../context.ts";
import { listModels } from "../models.ts";
import { showModel } from "../show.ts";

export function openAIModelRoutes(app: AppContext) {
  return new Elysia({ name: "openai-models" })
    .get("/v1/models", () => toModelList(listModels(app)), {
      response: ModelList,
      detail: { summary: "OpenAI model list", tags: ["openai"] },
    })
    .get(
      "/v1/models/:model",
      ({ params }) => {
        const name = decodeURIComponent(params.model);
        const model = findModel(app.store, name, (n) => new ModelNotFoundError(n));
        return toOpenAIModel(showModel(app.store, model), name);
      },
      {
        params: t.Object({ model: t.String() }),
        response: { 200: OpenAIModel, 404: OpenAIError },
        detail: { summary: "OpenAI model retrieval", tags: ["openai"] },
      },
    );
}
