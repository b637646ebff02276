// The HTTP server: Elysia routes composed in one place, errors mapped to Ollama's bodies in one onError.
import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import { metaRoutes } from "./routes/meta.ts";
import { VERSION } from "./version.ts";

export function createApp() {
  return new Elysia()
    .use(
      openapi({
        path: "/swagger",
        specPath: "/openapi.json",
        provider: "swagger-ui",
        documentation: {
          info: { title: "ollmlx", version: VERSION, description: "Ollama's API, served by an MLX engine" },
        },
      }),
    )
    .onError(({ code, error, set }) => {
      if (code === "NOT_FOUND") {
        set.status = 404;
        return new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } });
      }
      if (code === "VALIDATION" || code === "PARSE") {
        set.status = 400;
        return { error: code === "PARSE" ? "invalid request body" : validationMessage(error) };
      }
      set.status = typeof set.status === "number" && set.status >= 400 ? set.status : 500;
      return { error: error instanceof Error ? error.message : String(error) };
    })
    .use(metaRoutes);
}

function validationMessage(error: unknown): string {
  if (error && typeof error === "object" && "message" in error) {
    try {
      const parsed = JSON.parse(String((error as { message: unknown }).message)) as { summary?: string; message?: string };
      return parsed.summary ?? parsed.message ?? "invalid request";
    } catch {
      return String((error as { message: unknown }).message);
    }
  }
  return "invalid request";
}
