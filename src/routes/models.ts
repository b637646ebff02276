// Model management: list (tags), running (ps), show, copy, delete (server/routes.go).
import { Elysia, t } from "elysia";
import { InvalidRequestError, MESSAGES, ModelNotFoundError } from "../api/errors.ts";
import { nowEpochNs, rfc3339Nano } from "../api/time.ts";
import {
  CopyRequest,
  DeleteRequest,
  ErrorResponse,
  ListResponse,
  ProcessResponse,
  ShowRequest,
  ShowResponse,
  type ListModel,
  type ProcessModel,
} from "../schemas/index.ts";
import { InvalidModelNameError, parseModelName } from "../store/names.ts";
import { capabilitiesOf, readModelLayers } from "./model-layers.ts";
import { findModel, type AppContext } from "./context.ts";
import { detailsOf, showModel } from "./show.ts";

const FOREVER_NS = (1n << 63n) - 1n;

function expiresAt(epochMs: number): string {
  if (epochMs === Infinity) return rfc3339Nano(nowEpochNs() + FOREVER_NS);
  return rfc3339Nano(BigInt(Math.round(epochMs)) * 1_000_000n);
}

export function listModels(app: AppContext): ListResponse {
  const models: ListModel[] = app.store.list().map((m) => ({
    name: m.display,
    model: m.display,
    modified_at: rfc3339Nano(m.modifiedAt),
    size: m.size,
    digest: m.digest,
    details: detailsOf(m),
    capabilities: capabilitiesOf(m, readModelLayers(app.store, m)),
  }));
  return { models };
}

const empty = () => new Response(null, { status: 200 });

export function modelRoutes(app: AppContext) {
  return new Elysia({ name: "models" })
    .get("/api/tags", () => listModels(app), {
      response: ListResponse,
      detail: { summary: "List local models", tags: ["models"] },
    })
    .head("/api/tags", () => empty(), { detail: { hide: true } })
    .get(
      "/api/ps",
      async (): Promise<ProcessResponse> => {
        const running = await app.scheduler.running();
        const models: ProcessModel[] = running.map((r) => ({
          name: r.model.display,
          model: r.model.display,
          size: r.size,
          digest: r.model.digest,
          details: detailsOf(r.model),
          expires_at: expiresAt(r.expiresAt),
          size_vram: r.sizeVram,
          context_length: r.contextLength,
        }));
        return { models };
      },
      { response: ProcessResponse, detail: { summary: "List loaded models", tags: ["models"] } },
    )
    .post(
      "/api/show",
      ({ body }) => {
        const name = body.model || body.name || "";
        if (!name) throw new InvalidRequestError(MESSAGES.modelRequired);
        return showModel(app.store, findModel(app.store, name), { system: body.system });
      },
      {
        body: ShowRequest,
        parse: "json",
        response: { 200: ShowResponse, 400: ErrorResponse, 404: ErrorResponse },
        detail: { summary: "Show a model's details, template, parameters and capabilities", tags: ["models"] },
      },
    )
    .post(
      "/api/copy",
      ({ body }) => {
        const source = findModel(app.store, body.source, (n) => ModelNotFoundError.quoted(n));
        try {
          parseModelName(body.destination);
        } catch (error) {
          if (error instanceof InvalidModelNameError) throw new InvalidRequestError(`destination "${body.destination}" is invalid`);
          throw error;
        }
        app.store.copy(source.display, body.destination);
        return empty();
      },
      {
        body: CopyRequest,
        parse: "json",
        response: { 200: t.Void(), 400: ErrorResponse, 404: ErrorResponse },
        detail: { summary: "Copy a model under another name (blobs are shared)", tags: ["models"] },
      },
    )
    .delete(
      "/api/delete",
      async ({ body }) => {
        const name = body.model || body.name || "";
        if (!name) throw new InvalidRequestError(MESSAGES.modelRequired);
        const model = findModel(app.store, name);
        await app.scheduler.unload(model);
        app.store.delete(model.display);
        return empty();
      },
      {
        body: DeleteRequest,
        parse: "json",
        response: { 200: t.Void(), 400: ErrorResponse, 404: ErrorResponse },
        detail: { summary: "Delete a model and the blobs no other model uses", tags: ["models"] },
      },
    );
}
