// The API explorer works offline, and the OpenAPI document describes every route and its request body.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "./harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const ROUTES: [string, string, boolean][] = [
  ["get", "/", false],
  ["head", "/", false],
  ["post", "/api/generate", true],
  ["post", "/api/chat", true],
  ["post", "/api/embed", true],
  ["post", "/api/embeddings", true],
  ["get", "/api/tags", false],
  ["get", "/api/ps", false],
  ["post", "/api/show", true],
  ["post", "/api/copy", true],
  ["delete", "/api/delete", true],
  ["post", "/api/create", true],
  ["post", "/api/blobs/{digest}", false],
  ["head", "/api/blobs/{digest}", false],
  ["get", "/api/version", false],
  ["head", "/api/version", false],
  ["post", "/api/pull", true],
  ["post", "/api/push", true],
  ["post", "/v1/chat/completions", true],
  ["post", "/v1/completions", true],
  ["get", "/v1/models", false],
  ["get", "/v1/models/{model}", false],
  ["post", "/v1/embeddings", true],
  ["post", "/v1/responses", true],
  ["get", "/v1/responses/{id}", false],
  ["post", "/v1/messages", true],
  ["post", "/v1/messages/count_tokens", true],
];

describe("Swagger", () => {
  test("/swagger references only local assets, and they are served", async () => {
    const html = await (await fetch(server.url + "/swagger")).text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const ref of refs) {
      expect(ref).toStartWith("/");
      const asset = await fetch(server.url + ref);
      expect(asset.status).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    expect(html).not.toMatch(/https?:\/\/(unpkg|cdn|fonts)/);
  });

  test("/openapi.json lists every route, with request schemas", async () => {
    const doc = (await (await fetch(server.url + "/openapi.json")).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
    };
    for (const [method, path, hasBody] of ROUTES) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      if (hasBody) expect(op!.requestBody?.content["application/json"]?.schema, `${method} ${path} body`).toBeDefined();
    }
    const generate = doc.paths["/api/generate"]!.post!.requestBody!.content["application/json"]!.schema as { properties?: Record<string, unknown> };
    expect(Object.keys(generate.properties ?? {})).toEqual(expect.arrayContaining(["model", "prompt", "options", "keep_alive"]));
    // the compatibility routes are documented from the schemas that validate them
    const bodyKeys = (path: string) =>
      Object.keys((doc.paths[path]!.post!.requestBody!.content["application/json"]!.schema as { properties?: Record<string, unknown> }).properties ?? {});
    expect(bodyKeys("/v1/messages")).toEqual(expect.arrayContaining(["model", "messages", "max_tokens", "system", "tools", "tool_choice", "thinking", "stop_sequences"]));
    expect(bodyKeys("/v1/responses")).toEqual(expect.arrayContaining(["model", "input", "instructions", "previous_response_id", "store", "tools", "text"]));
  });
});
