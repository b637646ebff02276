// The routes a client uses to find the server: the heartbeat and the version.
import { Elysia } from "elysia";
import { VersionResponse } from "../schemas/index.ts";
import { VERSION } from "../version.ts";

export const metaRoutes = new Elysia({ name: "meta" })
  .get("/", () => new Response("Ollama is running", { headers: { "content-type": "text/plain; charset=utf-8" } }), {
    detail: { summary: "Heartbeat", tags: ["meta"] },
  })
  .head("/", () => new Response(null, { headers: { "content-type": "text/plain; charset=utf-8" } }), {
    detail: { summary: "Heartbeat, headers only", tags: ["meta"] },
  })
  .get("/api/version", () => ({ version: VERSION }), {
    response: VersionResponse,
    detail: { summary: "The server's version", tags: ["meta"] },
  })
  .head("/api/version", () => new Response(null), { detail: { summary: "The server's version, headers only", tags: ["meta"] } });
