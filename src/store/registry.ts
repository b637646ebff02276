// A client of the Ollama registry, which speaks Docker Registry v2 (server/images.go, server/auth.go):
//   GET {scheme}://{host}/v2/{namespace}/{model}/manifests/{tag}   Accept: application/vnd.docker.distribution.manifest.v2+json
//   GET {scheme}://{host}/v2/{namespace}/{model}/blobs/{digest}    (usually a redirect to a signed storage URL)
// A 401 carries `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; the realm hands out a token for
// `Authorization: Bearer`. Ollama signs the token request with ~/.ollama/id_ed25519; ollmlx asks anonymously,
// which is enough for public models.
// A push (push.ts, upload.ts) uses `send`: any method, the same token, redirects handed back rather than followed.
import { OllamaError } from "../api/errors.ts";
import { httpError, httpGet, USER_AGENT } from "./pull-blob.ts";
import { ManifestNotFoundError, PullError } from "./pull-errors.ts";
import { DEFAULT_STALL_MS, readAll } from "./pull-http.ts";
import { isSafeFileName } from "./names.ts";
import { MEDIA, type Manifest } from "./store.ts";

export interface BearerChallenge {
  realm: string;
  service?: string;
  scope?: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted values may hold commas). */
export function parseBearerChallenge(header: string | null): BearerChallenge | null {
  if (!header || !/^bearer\s/i.test(header)) return null;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? "";
  if (!params.realm) return null;
  return { realm: params.realm, service: params.service, scope: params.scope };
}

/** A push the registry refused or could not take (Ollama answers a failed non-streaming push with 500). */
export class RegistryError extends OllamaError {
  constructor(message: string) {
    super(500, message);
  }
}

/** A request for `send`: the body is a factory, so that a request answered by a 401 challenge can be sent again. */
export interface RegistryRequest {
  headers?: Record<string, string>;
  body?: () => NonNullable<RequestInit["body"]>;
}

/** Ollama's wording for a registry's error status (makeRequestWithRetry: "%d: %s"). */
export async function statusError(res: Response): Promise<RegistryError> {
  const text = (await res.text().catch(() => "")).trim().slice(0, 300);
  return new RegistryError(`${res.status}: ${text}`);
}

export class RegistryClient {
  private token: string | undefined;
  /** a pull gives up a connection that sends nothing for this long (OLLMLX_PULL_STALL_TIMEOUT) */
  stallMs = DEFAULT_STALL_MS;

  /** `base` is scheme://host, `repository` is namespace/model. */
  constructor(
    readonly base: string,
    readonly repository: string,
    private readonly signal?: AbortSignal,
  ) {}

  manifestUrl(tag: string): string {
    return `${this.base}/v2/${this.repository}/manifests/${tag}`;
  }

  blobUrl(digest: string): string {
    return `${this.base}/v2/${this.repository}/blobs/${digest}`;
  }

  /** Authorization for the registry's own origin (httpGet drops it on a redirect to storage). */
  authHeaders(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** GET on the registry, answering one 401 challenge with a token. */
  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    let res = await httpGet(url, { ...headers, ...this.authHeaders() }, this.signal, this.stallMs);
    if (res.status !== 401) return res;
    const challenge = parseBearerChallenge(res.headers.get("www-authenticate"));
    await res.body?.cancel();
    if (!challenge) throw new PullError(`Get "${url}": 401 Unauthorized`);
    this.token = await this.fetchToken(challenge);
    res = await httpGet(url, { ...headers, ...this.authHeaders() }, this.signal, this.stallMs);
    if (res.status === 401) throw new PullError(`Get "${url}": 401 Unauthorized`);
    return res;
  }

  /**
   * Any method on the registry, answering a 401 challenge with a token and sending again once (Ollama's
   * makeRequestWithRetry; a second 401 is its errUnauthorized). Redirects come back to the caller.
   */
  async send(method: string, url: string, request: RegistryRequest = {}): Promise<Response> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: { "User-Agent": USER_AGENT, ...request.headers, ...this.authHeaders() },
          body: request.body?.() ?? null,
          redirect: "manual",
          signal: this.signal,
        });
      } catch (error) {
        if (this.signal?.aborted) throw this.signal.reason ?? error;
        const title = method.charAt(0) + method.slice(1).toLowerCase();
        throw new RegistryError(`${title} "${url}": ${error instanceof Error ? error.message : String(error)}`);
      }
      if (res.status !== 401) return res;
      const challenge = parseBearerChallenge(res.headers.get("www-authenticate"));
      await res.body?.cancel();
      if (!challenge) break;
      this.token = await this.fetchToken(challenge);
    }
    throw new RegistryError("unauthorized: access denied");
  }

  private async fetchToken(challenge: BearerChallenge): Promise<string> {
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set("service", challenge.service);
    if (challenge.scope) url.searchParams.set("scope", challenge.scope);
    url.searchParams.set("ts", String(Math.floor(Date.now() / 1000)));
    url.searchParams.set("nonce", crypto.randomUUID());
    const res = await httpGet(url.toString(), {}, this.signal);
    if (!res.ok) throw new PullError(`getting registry token: ${(await httpError(url.toString(), res)).message}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new PullError("getting registry token: no token in the response");
    return token;
  }

  /** The manifest as the registry sent it: its bytes (written to the store unchanged) and their parse. */
  async manifest(tag: string): Promise<{ bytes: Uint8Array; manifest: Manifest }> {
    const url = this.manifestUrl(tag);
    const res = await this.get(url, { Accept: MEDIA.manifest });
    if (res.status === 404) {
      await res.body?.cancel();
      throw new ManifestNotFoundError();
    }
    if (!res.ok) throw new PullError(`pull model manifest: ${(await httpError(url, res)).message}`);
    const bytes = new Uint8Array(await readAll(res, url, this.stallMs, this.signal));
    let manifest: Manifest;
    try {
      manifest = JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
    } catch {
      throw new PullError("pull model manifest: the registry sent a manifest that is not JSON");
    }
    if (!manifest?.config || !Array.isArray(manifest.layers)) {
      throw new PullError("pull model manifest: the registry sent a manifest without valid layers");
    }
    // Digests become file names in the store and layer names link names: a hostile registry must not name a path.
    for (const l of [manifest.config, ...manifest.layers]) {
      const digest: unknown = l?.digest;
      if (typeof digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
        throw new PullError(`pull model manifest: the registry sent an invalid layer digest ${JSON.stringify(digest)}`);
      }
      if (!Number.isSafeInteger(l.size) || l.size < 0 || typeof l.mediaType !== "string") {
        throw new PullError(`pull model manifest: the registry sent an invalid layer ${digest}`);
      }
      if (l.name !== undefined && !isSafeFileName(l.name)) {
        throw new PullError(`pull model manifest: the registry sent an unsafe layer name ${JSON.stringify(l.name)}`);
      }
    }
    return { bytes, manifest };
  }
}
