// The HTTP server: Elysia route plugins composed in one place, errors mapped to Ollama's bodies in one onError
// (OpenAI's envelope on /v1, Anthropic's on /v1/messages). Bodies are read as JSON whatever their content type, as Ollama's handlers do.
import { Elysia } from "elysia";
import { anthropicErrorBody, errorBody, messageFor, openAIErrorBody, statusFor, validationFailure, validationMessage, InvalidRequestError, MESSAGES, OllamaError } from "./api/index.ts";
import { readBodyText } from "./api/body.ts";
import { Scheduler } from "./scheduler/scheduler.ts";
import { Store } from "./store/store.ts";
import { anthropicRoutes } from "./routes/anthropic/messages.ts";
import { blobRoutes } from "./routes/blobs.ts";
import { chatRoutes } from "./routes/chat.ts";
import type { AppContext } from "./routes/context.ts";
import { createRoutes } from "./routes/create.ts";
import { finetuneRoutes } from "./routes/finetune.ts";
import { embedRoutes } from "./routes/embed.ts";
import { generateRoutes } from "./routes/generate.ts";
import { metaRoutes } from "./routes/meta.ts";
import { modelRoutes } from "./routes/models.ts";
import { openAIRoutes } from "./routes/openai/index.ts";
import { pullRoutes } from "./routes/pull.ts";
import { pushRoutes } from "./routes/push.ts";
import { allowedHostsGuard, corsGuard } from "./routes/security.ts";
import type { Env } from "./config/env.ts";
import { OLLAMA_HOST } from "./config/settings.ts";
import { swaggerRoutes } from "./routes/swagger.ts";

export function defaultContext(): AppContext {
  const store = new Store();
  return { store, scheduler: new Scheduler(store) };
}

/**
 * JSON bodies that are not objects ([1], 42, "x"), by request: Elysia hands validation `{}` for them, but Ollama
 * answers Go's `json: cannot unmarshal array into Go value of type api.GenerateRequest`.
 */
const nonObjectBodies = new WeakMap<Request, unknown>();

/** Go's json.Decoder errors for bodies that are not JSON (what Ollama answers with, status 400). */
async function parseJsonBody(request: Request): Promise<unknown> {
  const text = await readBodyText(request);
  if (text.trim() === "") throw new InvalidRequestError(MESSAGES.missingBody);
  try {
    // `null` decodes into a Go struct as a no-op: the handler sees an empty request, not a missing body
    const value: unknown = JSON.parse(text) ?? {};
    if (typeof value !== "object" || Array.isArray(value)) nonObjectBodies.set(request, value);
    return value;
  } catch {
    throw new InvalidRequestError(text.trim().startsWith("{") ? "unexpected EOF" : `invalid character '${text.trim()[0]}' looking for beginning of value`);
  }
}

/** The error envelope a path's clients parse: Anthropic's on /v1/messages, OpenAI's on the rest of /v1, Ollama's elsewhere. */
function errorBodyFor(request: Request, message: string, status: number): unknown {
  const path = new URL(request.url).pathname;
  if (path === "/v1/messages" || path.startsWith("/v1/messages/")) return anthropicErrorBody(new Error(message), status);
  if (path.startsWith("/v1/")) return openAIErrorBody(new Error(message), status);
  return errorBody(new Error(message));
}

export interface AppOptions {
  /** The address the server is bound to; a loopback bind turns on the Host-header check. Default: OLLAMA_HOST. */
  bindHost?: string;
  /** Where OLLAMA_HOST and OLLAMA_ORIGINS are read from (tests pass their own); default the process's. */
  env?: Env;
}

export function createApp(context: AppContext = defaultContext(), options: AppOptions = {}) {
  const bindHost = options.bindHost ?? OLLAMA_HOST.read(options.env).host;
  // Order as Ollama's: CORS first (so a preflight is answered before the Host check), then the Host check.
  // No server-wide body limit (Bun's 128 MiB default would refuse model-sized blob uploads with an empty 413);
  // JSON bodies have their own (src/api/body.ts).
  // filled in below: the routes, to find a request's body schema
  const registered: { routes: () => readonly { path: string; method: string; hooks: { body?: unknown } }[] } = { routes: () => [] };
  const app = new Elysia({ serve: { maxRequestBodySize: Number.MAX_SAFE_INTEGER } })
    .use(corsGuard(options.env))
    .use(allowedHostsGuard(bindHost))
    .onParse({ as: "global" }, async ({ request }) => {
      if (new URL(request.url).pathname.startsWith("/api/blobs/")) return request.body ?? null;
      return parseJsonBody(request);
    })
    .onTransform({ as: "global" }, ({ request, route }) => {
      // before validation, which would see `{}`: Go fails to decode [1] or 42 into any request struct
      if (!nonObjectBodies.has(request)) return;
      const schema = registered.routes().find((r) => r.path === route && r.method === request.method)?.hooks.body;
      const message = schema ? validationMessage(schema, nonObjectBodies.get(request)) : null;
      if (message) throw new InvalidRequestError(message);
    })
    .onError({ as: "global" }, ({ code, error, request }) => {
      if (code === "NOT_FOUND") {
        return new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } });
      }
      let status: number;
      let message: string;
      if (code === "VALIDATION") {
        const failure = (error.value === undefined || error.value === null) && error.type === "body"
          ? { status: 400, message: MESSAGES.missingBody }
          : (validationFailure(error.validator, error.value) ?? { status: 400, message: "invalid request" });
        ({ status, message } = failure);
      } else if (code === "PARSE") {
        const cause = (error as { cause?: unknown }).cause;
        status = cause instanceof OllamaError ? cause.status : 400;
        message = cause instanceof OllamaError ? cause.message : messageFor(error);
      } else {
        status = statusFor(error);
        message = messageFor(error);
        if (status >= 500) console.error(error);
      }
      return Response.json(errorBodyFor(request, message, status), { status });
    })
    .use(swaggerRoutes())
    .use(metaRoutes)
    .use(generateRoutes(context))
    .use(chatRoutes(context))
    .use(embedRoutes(context))
    .use(modelRoutes(context))
    .use(createRoutes(context))
    .use(finetuneRoutes(context))
    .use(blobRoutes(context))
    .use(pullRoutes(context))
    .use(pushRoutes(context))
    .use(openAIRoutes(context))
    .use(anthropicRoutes(context));
  registered.routes = () => app.routes;
  return app;
}
