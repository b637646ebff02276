// A local Ollama registry (Docker Registry v2) on 127.0.0.1 that accepts pushes and serves pulls, per repository:
//   HEAD/GET /v2/<ns>/<model>/blobs/<digest>              200 with the bytes, or 404
//   POST     /v2/<ns>/<model>/blobs/uploads/[?mount&from]  202 + a relative Location (201 when a mount succeeds)
//   PATCH    <location>   Content-Range a-b must continue the upload (416 otherwise); 202 + the next Location
//            (with `redirectParts`, a 307 instead: Location = a storage URL that takes the part by PUT and refuses
//            registry credentials, Docker-Upload-Location = the next upload location, as Ollama's registry does)
//   PUT      <location>?digest=…   the bytes received must hash to the digest (400 DIGEST_INVALID), then 201
//   PUT/GET  /v2/<ns>/<model>/manifests/<tag>   a PUT must name only blobs the repository has (400 BLOB_UNKNOWN)
// Every /v2/ request needs `Authorization: Bearer <token>`; without it a 401 challenge names /token as the realm.
// Faults on purpose: a status for the final blob PUT, a registry that refuses every token.
import { createHash } from "node:crypto";

export interface UploadLogEntry {
  method: string;
  path: string;
  authorization: string | null;
  contentRange: string | null;
}

export interface UploadFaults {
  /** answer the final PUT of a blob upload with this status (and a JSON error body) */
  blobPut?: number;
  /** answer every PATCH with this status */
  patch?: number;
  /** answer 401 even with the token: a namespace the caller may not push to */
  denyAll?: boolean;
  /** answer each PATCH with a 307 to storage */
  redirectParts?: boolean;
  /** answer a PATCH only once this settles (a slow upload, to hang up on) */
  holdParts?: Promise<void>;
}

interface Upload {
  repo: string;
  chunks: Uint8Array[];
  size: number;
}

const hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const errors = (status: number, code: string, message: string) => Response.json({ errors: [{ code, message }] }, { status });

export class UploadRegistry {
  readonly log: UploadLogEntry[] = [];
  /** `<namespace>/<model>` → sha256 hex → bytes */
  readonly blobs = new Map<string, Map<string, Uint8Array>>();
  /** `<namespace>/<model>:<tag>` → the manifest bytes as received */
  readonly manifests = new Map<string, Uint8Array>();
  readonly token = "push-token-456";
  faults: UploadFaults = {};
  private readonly uploads = new Map<string, Upload>();
  private readonly server: ReturnType<typeof Bun.serve>;

  constructor() {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, maxRequestBodySize: 1 << 30, fetch: (req) => this.handle(req) });
  }

  /** host:port, the name's host part */
  get host(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  blob(repo: string, digest: string): Uint8Array | undefined {
    return this.blobs.get(repo)?.get(digest.replace(/^sha256:/, ""));
  }

  /** The requests that sent blob bytes (PATCH) or committed a blob (PUT on an upload). */
  uploadRequests(): UploadLogEntry[] {
    return this.log.filter((e) => /\/blobs\/uploads\/./.test(e.path) && (e.method === "PATCH" || e.method === "PUT"));
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    this.log.push({ method: req.method, path: url.pathname, authorization: req.headers.get("authorization"), contentRange: req.headers.get("content-range") });
    if (url.pathname === "/token") return Response.json({ token: this.token });
    const storage = /^\/storage\/([\w-]+)$/.exec(url.pathname);
    if (storage && req.method === "PUT") return this.storePart(storage[1]!, req, url);
    const repoMatch = /^\/v2\/([^/]+\/[^/]+)\//.exec(url.pathname);
    if (!repoMatch) return new Response("404 page not found", { status: 404 });
    const repo = repoMatch[1]!;
    const rest = url.pathname.slice(repoMatch[0].length);
    if (this.faults.denyAll || req.headers.get("authorization") !== `Bearer ${this.token}`) {
      const challenge = `Bearer realm="http://${this.host}/token",service="fake-registry",scope="repository:${repo}:push,pull"`;
      return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, { status: 401, headers: { "www-authenticate": challenge } });
    }
    if (rest === "blobs/uploads/" && req.method === "POST") return this.startUpload(repo, url);
    const upload = /^blobs\/uploads\/([\w-]+)$/.exec(rest);
    if (upload && req.method === "PATCH") return this.appendChunk(repo, upload[1]!, req);
    if (upload && req.method === "PUT") return this.commit(repo, upload[1]!, req, url);
    const blob = /^blobs\/sha256:([0-9a-f]{64})$/.exec(rest);
    if (blob && (req.method === "GET" || req.method === "HEAD")) return this.serveBlob(repo, blob[1]!, req);
    const manifest = /^manifests\/([\w.-]+)$/.exec(rest);
    if (manifest && req.method === "PUT") return this.putManifest(repo, manifest[1]!, req);
    if (manifest && req.method === "GET") {
      const bytes = this.manifests.get(`${repo}:${manifest[1]}`);
      if (!bytes) return errors(404, "MANIFEST_UNKNOWN", "manifest unknown");
      return new Response(bytes, { headers: { "content-type": "application/vnd.docker.distribution.manifest.v2+json" } });
    }
    return new Response("404 page not found", { status: 404 });
  }

  private startUpload(repo: string, url: URL): Response {
    const mount = url.searchParams.get("mount");
    const from = url.searchParams.get("from");
    const hexDigest = mount?.replace(/^sha256:/, "");
    const source = from && hexDigest ? this.blobs.get(from)?.get(hexDigest) : undefined;
    if (source && hexDigest) {
      this.store(repo, hexDigest, source);
      return new Response(null, { status: 201, headers: { location: `/v2/${repo}/blobs/${mount}` } });
    }
    const id = crypto.randomUUID();
    this.uploads.set(id, { repo, chunks: [], size: 0 });
    return new Response(null, { status: 202, headers: { location: `/v2/${repo}/blobs/uploads/${id}`, "docker-upload-uuid": id, range: "0-0" } });
  }

  private async appendChunk(repo: string, id: string, req: Request): Promise<Response> {
    const upload = this.uploads.get(id);
    if (!upload || upload.repo !== repo) return errors(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown");
    const range = /^(\d+)-(\d+)$/.exec(req.headers.get("content-range") ?? "");
    await this.faults.holdParts;
    if (this.faults.patch) return errors(this.faults.patch, "UNKNOWN", "upload refused");
    if (this.faults.redirectParts) {
      await req.arrayBuffer();
      const headers = { location: `http://${this.host}/storage/${id}?offset=${range?.[1] ?? 0}&sig=fake`, "docker-upload-location": `/v2/${repo}/blobs/uploads/${id}` };
      return new Response(null, { status: 307, headers });
    }
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (range && (Number(range[1]) !== upload.size || Number(range[2]) - Number(range[1]) + 1 !== bytes.length)) {
      return errors(416, "BLOB_UPLOAD_INVALID", `range ${range[0]} does not continue an upload of ${upload.size} bytes`);
    }
    upload.chunks.push(bytes);
    upload.size += bytes.length;
    return new Response(null, { status: 202, headers: { location: `/v2/${repo}/blobs/uploads/${id}`, range: `0-${upload.size - 1}` } });
  }

  /** Storage takes a part at its offset; a signed URL needs no credentials and must not be sent the registry's. */
  private async storePart(id: string, req: Request, url: URL): Promise<Response> {
    const upload = this.uploads.get(id);
    if (!upload) return new Response("no such upload", { status: 404 });
    if (req.headers.get("authorization")) return new Response("unexpected Authorization header", { status: 400 });
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (Number(url.searchParams.get("offset")) !== upload.size) return new Response("part out of order", { status: 400 });
    upload.chunks.push(bytes);
    upload.size += bytes.length;
    return new Response(null, { status: 200 });
  }

  private async commit(repo: string, id: string, req: Request, url: URL): Promise<Response> {
    const upload = this.uploads.get(id);
    if (!upload || upload.repo !== repo) return errors(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown");
    const tail = new Uint8Array(await req.arrayBuffer());
    if (this.faults.blobPut) return errors(this.faults.blobPut, "UNKNOWN", "storage backend unavailable");
    const bytes = Buffer.concat([...upload.chunks, tail]);
    const digest = url.searchParams.get("digest") ?? "";
    if (digest !== `sha256:${hex(bytes)}`) return errors(400, "DIGEST_INVALID", "provided digest did not match uploaded content");
    this.uploads.delete(id);
    this.store(repo, hex(bytes), new Uint8Array(bytes));
    return new Response(null, { status: 201, headers: { location: `/v2/${repo}/blobs/${digest}`, "docker-content-digest": digest } });
  }

  private store(repo: string, hexDigest: string, bytes: Uint8Array): void {
    let blobs = this.blobs.get(repo);
    if (!blobs) this.blobs.set(repo, (blobs = new Map()));
    blobs.set(hexDigest, bytes);
  }

  private serveBlob(repo: string, hexDigest: string, req: Request): Response {
    const bytes = this.blobs.get(repo)?.get(hexDigest);
    if (!bytes) return req.method === "HEAD" ? new Response(null, { status: 404 }) : errors(404, "BLOB_UNKNOWN", "blob unknown to registry");
    const headers = { "content-length": String(bytes.length), "docker-content-digest": `sha256:${hexDigest}` };
    return new Response(req.method === "HEAD" ? null : bytes, { headers });
  }

  private async putManifest(repo: string, tag: string, req: Request): Promise<Response> {
    if (req.headers.get("content-type") !== "application/vnd.docker.distribution.manifest.v2+json") {
      return errors(400, "MANIFEST_INVALID", `unexpected content type ${req.headers.get("content-type")}`);
    }
    const bytes = new Uint8Array(await req.arrayBuffer());
    let manifest: { config?: { digest?: string }; layers?: { digest?: string }[] };
    try {
      manifest = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return errors(400, "MANIFEST_INVALID", "manifest invalid");
    }
    for (const l of [manifest.config, ...(manifest.layers ?? [])]) {
      if (!l?.digest || !this.blob(repo, l.digest)) return errors(400, "MANIFEST_BLOB_UNKNOWN", `blob unknown to registry: ${l?.digest}`);
    }
    this.manifests.set(`${repo}:${tag}`, bytes);
    const digest = `sha256:${hex(bytes)}`;
    return new Response(null, { status: 201, headers: { location: `/v2/${repo}/manifests/${digest}`, "docker-content-digest": digest } });
  }

  stop(): void {
    this.server.stop(true);
  }
}
