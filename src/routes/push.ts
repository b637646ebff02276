// POST /api/push (server/routes.go PushHandler): {model, insecure?, stream?} → NDJSON progress, or with stream:false
// only the last object. As in Ollama, a failure once the stream has begun (an unknown model included) is its last
// line, {"error": "..."}; with stream:false it is a 500. The request's signal is the push's: a client that goes
// away stops the uploads.
import { Elysia } from "elysia";
import { InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { progressResponse } from "../api/ndjson.ts";
import { ErrorResponse, ProgressResponse, PushRequest } from "../schemas/index.ts";
import { pushModel } from "../store/push.ts";
import { checkModelName, type AppContext } from "./context.ts";

export function pushRoutes(app: Pick<AppContext, "store">) {
  return new Elysia({ name: "push" }).post(
    "/api/push",
    async ({ body, request }) => {
      const model = body.model || body.name || "";
      if (!model) throw new InvalidRequestError(MESSAGES.modelRequired);
      checkModelName(model);
      const progress = pushModel(app.store, model, { insecure: body.insecure ?? false, signal: request.signal });
      return progressResponse(progress, body.stream, request.signal);
    },
    {
      body: PushRequest,
      parse: "json",
      response: { 200: ProgressResponse, 400: ErrorResponse, 500: ErrorResponse },
      detail: {
        summary: "Upload a model to an Ollama registry",
        description:
          "Uploads every blob the registry does not have (Docker Registry v2 chunked upload, bearer-token auth), then " +
          "the manifest as stored. The name says where: [host/]namespace/model[:tag]; `insecure` allows http:// registries.",
        tags: ["models"],
      },
    },
  );
}
