// The OpenAI-compatible layer (/v1), each route a rewrite onto the native handlers.
import { Elysia } from "elysia";
import type { AppContext } from "../context.ts";
import { openAIChatRoutes } from "./chat.ts";
import { openAICompletionRoutes } from "./completions.ts";
import { openAIEmbeddingRoutes } from "./embeddings.ts";
import { openAIModelRoutes } from "./models.ts";
import { openAIResponseRoutes } from "./responses.ts";

export function openAIRoutes(app: AppContext) {
  return new Elysia({ name: "openai" })
    .use(openAIChatRoutes(app))
    .use(openAICompletionRoutes(app))
    .use(openAIModelRoutes(app))
    .use(openAIEmbeddingRoutes(app))
    .use(openAIResponseRoutes(app));
}
