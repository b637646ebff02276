// A client of the Ollama registry, which speaks Docker Registry v2 (server/images.go, server/auth.go):
//   GET {scheme}://{host}/v2/{namespace}/{model}/manifests/{tag}   Accept: application/vnd.docker.distribution.manifest.v2+json
//   GET {scheme}://{host}/v2/{namespace}/{model}/blobs/{digest}    (usually a redirect to a signed storage URL)
// A 401 carries `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; the realm hands out a token for
// `Authorization: Bearer`. Ollama signs the token request with ~/.ollama/id_ed25519; ollmlx asks anonymously,
// which is enough for public models.
import { httpError, httpGet } from "./pull-blob.ts";
import { ManifestNotFoundError, PullError } from "./pull-errors.ts";
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

export class RegistryClient {
  private token: string | undefined;

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
    let res = await httpGet(url, { ...headers, ...this.authHeaders() }, this.signal);
    if (res.status !== 401) return res;
    const challenge = parseBearerChallenge(res.headers.get("www-authenticate"));
    await res.body?.cancel();
    if (!challenge) throw new PullError(`Get "${url}": 401 Unauthorized`);
    this.token = await this.fetchToken(challenge);
    res = await httpGet(url, { ...headers, ...this.authHeaders() }, this.signal);
    if (res.status === 401) throw new PullError(`Get "${url}": 401 Unauthorized`);
    return res;
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
    const bytes = new Uint8Array(await res.arrayBuffer());
    let manifest: Manifest;
    try {
      manifest = JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
    } catch {
      throw new PullError("pull model manifest: the registry sent a manifest that is not JSON");
    }
    const digestOk = (d: unknown) => typeof d === "string" && /^sha256:[0-9a-f]{64}$/.test(d);
    if (!manifest?.config || !Array.isArray(manifest.layers) || ![manifest.config, ...manifest.layers].every((l) => digestOk(l?.digest) && Number.isInteger(l.size))) {
      throw new PullError("pull model manifest: the registry sent a manifest without valid layers");
    }
    return { bytes, manifest };
  }
}
