// The OpenAPI document and explorer come from @elysiajs/openapi, Elysia's own plugin (not the older
// @elysiajs/swagger it replaces): it reads the TypeBox schemas the routes already validate with, so /openapi.json is
// the wire format itself, never a second description to keep in step.
// The API explorer, offline: @elysiajs/openapi's Swagger UI page loads its script and stylesheet from a CDN by
// default; these routes serve them from the swagger-ui-dist package instead, so /swagger works with no network.
// File imports, not a lookup in node_modules: `bun build --compile` embeds them, so the binary needs no node_modules.
import { Elysia, t } from "elysia";
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { openapi } from "@elysiajs/openapi";
import { VERSION } from "../version.ts";

export const SWAGGER_ASSETS = "/swagger/assets";

const ASSETS: Record<string, { path: string; type: string }> = {
  "swagger-ui-bundle.js": { path: swaggerBundle, type: "application/javascript; charset=utf-8" },
  "swagger-ui.css": { path: swaggerCss, type: "text/css; charset=utf-8" },
};

/** A document's operations, as far as the repair below needs them. */
type SpecPaths = Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>>;

/**
 * @elysiajs/openapi 1.4 writes a t.Void() response as `content: {type: "void"}`, which is not a media-type map, so
 * schema-driven clients (schemathesis, code generators) reject the whole document. A bodiless response has no
 * `content` in OpenAPI: drop those. Mutates in place (the plugin caches the object), so it runs once in effect.
 */
export function repairVoidResponses(spec: { paths?: SpecPaths }): void {
  for (const operations of Object.values(spec.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const response of Object.values(operation.responses ?? {})) {
        if (typeof response.content?.type === "string") delete response.content;
      }
    }
  }
}

export function swaggerRoutes() {
  return new Elysia({ name: "swagger" })
    .onAfterHandle(({ request, response }) => {
      if (new URL(request.url).pathname === "/openapi.json" && response && typeof response === "object") {
        repairVoidResponses(response as { paths?: SpecPaths });
      }
    })
    .use(
      openapi({
        path: "/swagger",
        specPath: "/openapi.json",
        provider: "swagger-ui",
        exclude: { paths: [`${SWAGGER_ASSETS}/:file`] },
        swagger: { cdn: `${SWAGGER_ASSETS}/swagger-ui-bundle.js`, theme: `${SWAGGER_ASSETS}/swagger-ui.css` },
        documentation: {
          info: { title: "ollmlx", version: VERSION, description: "Ollama's API, served by an MLX engine" },
          tags: [
            { name: "generate", description: "Completions" },
            { name: "chat", description: "Chat" },
            { name: "models", description: "Local models" },
            { name: "blobs", description: "Blob upload for create" },
            { name: "embed", description: "Embeddings" },
            { name: "openai", description: "OpenAI-compatible API" },
            { name: "meta", description: "Heartbeat and version" },
          ],
        },
      }),
    )
    .get(
      `${SWAGGER_ASSETS}/:file`,
      ({ params, set }) => {
        const asset = ASSETS[params.file];
        if (!asset) {
          set.status = 404;
          return new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } });
        }
        return new Response(Bun.file(asset.path), {
          headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" },
        });
      },
      { params: t.Object({ file: t.String() }), detail: { hide: true } },
    );
}
