// Browser-facing guards, as Ollama composes them in front of every route (`routes.go` GenerateRoutes):
// gin-contrib/cors with Ollama's origin list, then allowedHostsMiddleware against DNS rebinding.
import { Elysia } from "elysia";
import { hostname, networkInterfaces } from "node:os";
import type { Env } from "../config/env.ts";
import { OLLAMA_ORIGINS } from "../config/settings.ts";

/** Ollama's `corsConfig.AllowHeaders`: the OpenAI SDKs send the x-stainless-* ones on every request. */
export const CORS_ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "User-Agent",
  "Accept",
  "X-Requested-With",
  "OpenAI-Beta",
  "x-stainless-arch",
  "x-stainless-async",
  "x-stainless-custom-poll-interval",
  "x-stainless-helper-method",
  "x-stainless-lang",
  "x-stainless-os",
  "x-stainless-package-version",
  "x-stainless-poll-helper",
  "x-stainless-retry-count",
  "x-stainless-runtime",
  "x-stainless-runtime-version",
  "x-stainless-timeout",
];
// gin-contrib/cors DefaultConfig: these methods, a 12 h preflight cache.
const CORS_ALLOWED_METHODS = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS";
const CORS_MAX_AGE_S = "43200";

/** `envconfig.AllowedOrigins`: OLLAMA_ORIGINS first, then the loopback origins and desktop/editor app schemes. */
export function allowedOrigins(env?: Env): string[] {
  const origins = OLLAMA_ORIGINS.read(env);
  for (const host of ["localhost", "127.0.0.1", "0.0.0.0"]) {
    origins.push(`http://${host}`, `https://${host}`, `http://${host}:*`, `https://${host}:*`);
  }
  origins.push("app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*");
  return origins;
}

/** A matcher over origin patterns; `*` matches any run of characters (gin-contrib's AllowWildcard). */
export function originMatcher(patterns: string[]): { allowAll: boolean; allows(origin: string): boolean } {
  const lowered = patterns.map((p) => p.toLowerCase());
  if (lowered.includes("*")) return { allowAll: true, allows: () => true };
  const exact = new Set(lowered.filter((p) => !p.includes("*")));
  const wildcards = lowered
    .filter((p) => p.includes("*"))
    .map((p) => new RegExp(`^${p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`));
  return {
    allowAll: false,
    allows: (origin) => {
      const o = origin.toLowerCase();
      return exact.has(o) || wildcards.some((w) => w.test(o));
    },
  };
}

/**
 * CORS as gin-contrib/cors does it for Ollama: no Origin (or a same-origin one) passes untouched; a disallowed
 * origin gets 403; an allowed preflight (OPTIONS) gets 204 with the allow headers; other requests from an allowed
 * origin get Access-Control-Allow-Origin echoed back (or `*` when OLLAMA_ORIGINS contains `*`).
 */
export function corsGuard(env?: Env) {
  const matcher = originMatcher(allowedOrigins(env));
  return new Elysia().onRequest(({ request, set }) => {
    const origin = request.headers.get("origin");
    if (!origin) return;
    const host = request.headers.get("host") ?? "";
    if (origin === `http://${host}` || origin === `https://${host}`) return;
    if (!matcher.allows(origin)) return new Response(null, { status: 403 });
    const allowOrigin = matcher.allowAll ? "*" : origin;
    if (request.method === "OPTIONS") {
      const headers: Record<string, string> = {
        "access-control-allow-origin": allowOrigin,
        "access-control-allow-methods": CORS_ALLOWED_METHODS,
        "access-control-allow-headers": CORS_ALLOWED_HEADERS.join(","),
        "access-control-max-age": CORS_MAX_AGE_S,
      };
      if (!matcher.allowAll) headers.vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
      return new Response(null, { status: 204, headers });
    }
    set.headers["access-control-allow-origin"] = allowOrigin;
    if (!matcher.allowAll) set.headers.vary = "Origin";
  });
}

// netip's IsLoopback / IsPrivate / IsUnspecified, for the literal forms a Host header carries.
function parseIPv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

function isIPv6(host: string): boolean {
  return host.includes(":") && /^[0-9a-f:.]+$/i.test(host);
}

function isLocalNetworkIP(host: string): boolean {
  const v4 = parseIPv4(host);
  if (v4) {
    const [a, b] = v4 as [number, number, number, number];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || v4.every((x) => x === 0);
  }
  if (!isIPv6(host)) return false;
  const h = host.toLowerCase();
  return h === "::1" || h === "::" || /^f[cd]/.test(h);
}

/** Ollama's isLocalIP: an address of one of this machine's interfaces. */
function isInterfaceAddress(host: string): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address.toLowerCase() === host));
}

/** `allowedHost`: names that can only resolve to this machine, so a rebinding attacker cannot use them. */
function isLocalName(host: string): boolean {
  if (host === "" || host === "localhost" || host === hostname().toLowerCase()) return true;
  return [".localhost", ".local", ".internal"].some((tld) => host.endsWith(tld));
}

/** Splits `host[:port]` / `[v6]:port` the way Go's net.SplitHostPort does, falling back to the whole value. */
function hostOf(hostHeader: string): string {
  const bracket = /^\[([^\]]+)\](?::\d*)?$/.exec(hostHeader);
  if (bracket) return bracket[1]!;
  const idx = hostHeader.lastIndexOf(":");
  if (idx >= 0 && hostHeader.indexOf(":") === idx) return hostHeader.slice(0, idx);
  return hostHeader;
}

export function isLoopbackBind(bindHost: string): boolean {
  const h = bindHost.toLowerCase();
  return h === "localhost" || h === "::1" || parseIPv4(h)?.[0] === 127;
}

/** Whether a request's Host header is one Ollama accepts on a loopback-bound server (`allowedHostsMiddleware`). */
export function isAllowedHost(hostHeader: string): boolean {
  const host = hostOf(hostHeader.toLowerCase());
  if (parseIPv4(host) || isIPv6(host)) return isLocalNetworkIP(host) || isInterfaceAddress(host);
  return isLocalName(host);
}

/**
 * DNS-rebinding guard: a server bound to loopback only answers requests whose Host is an address or a name
 * that means "this machine"; anything else gets 403. A server bound elsewhere is reachable by name on purpose.
 */
export function allowedHostsGuard(bindHost: string) {
  const guard = new Elysia();
  if (!isLoopbackBind(bindHost)) return guard;
  return guard.onRequest(({ request }) => {
    const hostHeader = request.headers.get("host") ?? new URL(request.url).host;
    if (!isAllowedHost(hostHeader)) return new Response(null, { status: 403 });
    // Ollama answers OPTIONS itself only for an allowed name; an allowed address goes on to the router.
    const host = hostOf(hostHeader.toLowerCase());
    if (request.method === "OPTIONS" && !parseIPv4(host) && !isIPv6(host)) return new Response(null, { status: 204 });
  });
}
