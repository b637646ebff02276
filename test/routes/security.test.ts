// CORS and the Host-header check, through createApp's request handling (no model needed).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Scheduler, schedulerOptionsFromEnv } from "../../src/scheduler/scheduler.ts";
import { createApp, type AppOptions } from "../../src/server.ts";
import { Store } from "../../src/store/store.ts";

const root = mkdtempSync(join(tmpdir(), "ollmlx-security-store-"));
const store = new Store(root);
const scheduler = new Scheduler(store, schedulerOptionsFromEnv({}));
afterAll(async () => {
  await scheduler.shutdown();
  rmSync(root, { recursive: true, force: true });
});

function app(options: AppOptions = {}) {
  return createApp({ store, scheduler }, { bindHost: "127.0.0.1", env: {}, ...options });
}

function request(path: string, headers: Record<string, string>, method = "GET"): Request {
  return new Request(`http://127.0.0.1:11434${path}`, { method, headers: { host: "127.0.0.1:11434", ...headers } });
}

const preflight = (origin: string) =>
  request("/api/chat", { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" }, "OPTIONS");

describe("CORS", () => {
  for (const origin of [
    "http://localhost", "https://localhost:3000", "http://127.0.0.1:8080", "http://0.0.0.0:5173",
    "app://obsidian.md", "file://", "tauri://localhost", "vscode-webview://abc123", "vscode-file://vscode-app",
  ]) {
    test(`preflight from built-in origin ${origin} is 204 with the allow headers`, async () => {
      const res = await app().handle(preflight(origin));
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
      const allowed = res.headers.get("access-control-allow-headers")!.toLowerCase().split(",");
      for (const h of ["authorization", "content-type", "user-agent", "accept", "x-requested-with", "openai-beta", "x-stainless-os", "x-stainless-retry-count"]) {
        expect(allowed).toContain(h);
      }
    });
  }

  test("a request from an allowed origin gets the origin echoed back", async () => {
    const res = await app().handle(request("/api/version", { origin: "http://localhost:3000" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(((await res.json()) as { version: string }).version).toBeString();
  });

  test("error responses from an allowed origin carry the CORS header too", async () => {
    const res = await app().handle(new Request("http://127.0.0.1:11434/api/show", {
      method: "POST", headers: { host: "127.0.0.1:11434", origin: "http://localhost:3000" }, body: JSON.stringify({ model: "nope" }),
    }));
    expect(res.status).toBe(404);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
  });

  test("a disallowed origin is refused with 403 and no Access-Control-Allow-Origin", async () => {
    for (const r of [request("/api/version", { origin: "https://evil.example" }), preflight("https://evil.example"), preflight("http://localhost.evil.example")]) {
      const res = await app().handle(r);
      expect(res.status).toBe(403);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  test("OLLAMA_ORIGINS adds origins, with * wildcards", async () => {
    const a = app({ env: { OLLAMA_ORIGINS: "https://ok.example, chrome-extension://*" } });
    expect((await a.handle(preflight("https://ok.example"))).headers.get("access-control-allow-origin")).toBe("https://ok.example");
    expect((await a.handle(preflight("chrome-extension://abcdef"))).status).toBe(204);
    expect((await a.handle(preflight("https://other.example"))).status).toBe(403);
  });

  test("OLLAMA_ORIGINS=* allows any origin with Access-Control-Allow-Origin: *", async () => {
    const res = await app({ env: { OLLAMA_ORIGINS: "*" } }).handle(request("/api/version", { origin: "https://anything.example" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  test("a request without Origin gets no CORS headers", async () => {
    const res = await app().handle(request("/api/version", {}));
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("Host header check", () => {
  const allowedHosts = [
    "127.0.0.1:11434", "localhost:11434", "localhost", "[::1]:11434", "0.0.0.0:11434", "10.1.2.3", "192.168.1.5:11434",
    "172.16.0.1", "myapp.localhost:11434", "box.local", "host.docker.internal:11434", `${hostname()}:11434`, "LOCALHOST",
  ];
  for (const host of allowedHosts) {
    test(`loopback-bound server answers Host ${host}`, async () => {
      const res = await app().handle(request("/api/version", { host }));
      expect(res.status).toBe(200);
    });
  }

  for (const host of ["evil.example", "evil.example:11434", "8.8.8.8", "localhost.evil.example", "172.32.0.1:11434"]) {
    test(`loopback-bound server refuses Host ${host} with 403`, async () => {
      const res = await app().handle(request("/api/version", { host }));
      expect(res.status).toBe(403);
    });
  }

  test("OPTIONS with an allowed host name is 204", async () => {
    const res = await app().handle(request("/api/version", { host: "localhost:11434" }, "OPTIONS"));
    expect(res.status).toBe(204);
  });

  test("a server bound to a non-loopback address accepts any Host", async () => {
    for (const bindHost of ["0.0.0.0", "192.168.1.5"]) {
      const res = await app({ bindHost }).handle(request("/api/version", { host: "my-server.example.com" }));
      expect(res.status).toBe(200);
    }
  });

  test("bound to localhost (by name) the check is on", async () => {
    const res = await app({ bindHost: "localhost" }).handle(request("/api/version", { host: "evil.example" }));
    expect(res.status).toBe(403);
  });
});
