// Local stand-ins for the services a pull talks to, on 127.0.0.1: a Hugging Face Hub (API + resolve URLs whose LFS
// files redirect to a separate CDN origin) and an Ollama registry v2 (bearer-token challenge, blobs redirected to a
// storage origin). Each records the requests it saw, and can misbehave on purpose: drop a connection after N bytes,
// serve corrupt bytes, stream slowly, stall, break the connection, announce a wrong length, answer 429/500/503.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProgressResponse } from "../../src/store/progress.ts";
import { Store } from "../../src/store/store.ts";
import { serveBytes, type Fault } from "./fake-faults.ts";

export type { Fault } from "./fake-faults.ts";

export interface LoggedRequest {
  server: string;
  path: string;
  range: string | null;
  authorization: string | null;
}

/** bytes over a plain ArrayBuffer (what `new Uint8Array(readFileSync(...))` compares equal to) */
export type Bytes = Uint8Array<ArrayBuffer>;

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const gitBlobId = (b: Uint8Array) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

export function bytesOf(n: number, seed: number): Bytes {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const text = (s: string): Bytes => new TextEncoder().encode(s) as Bytes;

class FileServer {
  readonly log: LoggedRequest[] = [];
  readonly faults = new Map<string, Fault>();
  readonly blobs = new Map<string, Uint8Array>();
  cancelled = 0;
  private server: ReturnType<typeof Bun.serve>;

  constructor(readonly label: string) {
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => {
        const url = new URL(req.url);
        this.log.push({ server: label, path: url.pathname, range: req.headers.get("range"), authorization: req.headers.get("authorization") });
        const hex = url.pathname.split("/").pop()!;
        const bytes = this.blobs.get(hex);
        if (!bytes) return new Response("not found", { status: 404 });
        return serveBytes(req, bytes, this.faults.get(hex), () => this.cancelled++);
      },
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  add(bytes: Uint8Array): string {
    const hex = sha256(bytes);
    this.blobs.set(hex, bytes);
    return hex;
  }

  stop(): void {
    this.server.stop(true);
  }
}

export interface RepoFile {
  name: string;
  bytes: Bytes;
  lfs?: boolean;
  /** list this as the LFS sha256 instead of the real one (a hostile or broken listing) */
  listedSha256?: string;
}

/** A Hugging Face Hub: /api/models/{repo}/revision/{rev} and /{repo}/resolve/{rev}/{file}; LFS files go to the CDN. */
export class FakeHub {
  readonly log: LoggedRequest[] = [];
  readonly repos = new Map<string, RepoFile[]>();
  readonly cdn = new FileServer("cdn");
  /** small files served with other bytes than the listing describes */
  readonly tampered = new Map<string, Uint8Array>();
  /** when set, the Hub answers 401 unless this bearer token is sent */
  requireToken: string | undefined;
  /** the commit the listing names (a hostile Hub may name anything) */
  commit = "0123456789abcdef0123456789abcdef01234567";
  /** a fault for the repo listing (/api/models/...): a status instead, a stall, a reset... (see Fault) */
  apiFault: Fault | undefined;
  private server: ReturnType<typeof Bun.serve>;

  constructor() {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.handle(req) });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  addRepo(repo: string, files: RepoFile[]): void {
    this.repos.set(repo, files);
    for (const f of files) if (f.lfs) this.cdn.add(f.bytes);
  }

  /** every path either server was asked for */
  requestedPaths(): string[] {
    return [...this.log, ...this.cdn.log].map((r) => r.path);
  }

  private handle(req: Request): Response {
    const url = new URL(req.url);
    const path = decodeURIComponent(url.pathname);
    this.log.push({ server: "hub", path, range: req.headers.get("range"), authorization: req.headers.get("authorization") });
    if (this.requireToken && req.headers.get("authorization") !== `Bearer ${this.requireToken}`) {
      return Response.json({ error: "Invalid credentials in Authorization header" }, { status: 401 });
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (api) {
      const files = this.repos.get(api[1]!);
      if (!files) return Response.json({ error: "Repository not found" }, { status: 401 });
      const listing = JSON.stringify({
        id: api[1],
        sha: this.commit,
        siblings: files.map((f) => ({
          rfilename: f.name,
          size: f.bytes.length,
          blobId: f.lfs ? "0".repeat(40) : gitBlobId(f.bytes),
          ...(f.lfs ? { lfs: { size: f.bytes.length, sha256: f.listedSha256 ?? sha256(f.bytes), pointerSize: 134 } } : {}),
        })),
      });
      if (this.apiFault) return serveBytes(req, text(listing), this.apiFault, () => {});
      return new Response(listing, { headers: { "content-type": "application/json" } });
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const file = resolve && this.repos.get(resolve[1]!)?.find((f) => f.name === resolve[3]);
    if (!file) return new Response("Entry not found", { status: 404 });
    const headers = { "x-repo-commit": this.commit, "x-linked-size": String(file.bytes.length), etag: `"${sha256(file.bytes)}"` };
    if (file.lfs) {
      return new Response(null, { status: 302, headers: { ...headers, "x-linked-etag": `"${sha256(file.bytes)}"`, location: `${this.cdn.origin}/lfs/${sha256(file.bytes)}?X-Amz-Signature=fake` } });
    }
    return new Response(this.tampered.get(file.name) ?? file.bytes, { headers });
  }

  stop(): void {
    this.server.stop(true);
    this.cdn.stop();
  }
}

/** An Ollama registry (Docker Registry v2) whose blobs redirect to a storage origin, behind a bearer-token challenge. */
export class FakeRegistry {
  readonly log: LoggedRequest[] = [];
  readonly storage = new FileServer("storage");
  readonly manifests = new Map<string, Uint8Array>();
  readonly token = "anonymous-token-123";
  tokenRequests: URL[] = [];
  private server: ReturnType<typeof Bun.serve>;

  constructor() {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.handle(req) });
  }

  /** host:port, the name's host part */
  get host(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  /** Publishes a model: blobs to storage, the manifest under repo:tag. Returns the manifest bytes. */
  publish(repo: string, tag: string, config: Uint8Array, layers: { mediaType: string; bytes: Uint8Array }[]): Bytes {
    const layer = (mediaType: string, bytes: Uint8Array) => ({ mediaType, digest: `sha256:${this.storage.add(bytes)}`, size: bytes.length });
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: layer("application/vnd.docker.container.image.v1+json", config),
      layers: layers.map((l) => layer(l.mediaType, l.bytes)),
    };
    const bytes = text(JSON.stringify(manifest, null, 2));
    this.manifests.set(`${repo}:${tag}`, bytes);
    return bytes;
  }

  private handle(req: Request): Response {
    const url = new URL(req.url);
    this.log.push({ server: "registry", path: url.pathname, range: req.headers.get("range"), authorization: req.headers.get("authorization") });
    if (url.pathname === "/token") {
      this.tokenRequests.push(url);
      return Response.json({ token: this.token });
    }
    const m = /^\/v2\/([^/]+\/[^/]+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) return new Response("404 page not found", { status: 404 });
    if (req.headers.get("authorization") !== `Bearer ${this.token}`) {
      const challenge = `Bearer realm="http://${this.host}/token",service="fake-registry",scope="repository:${m[1]}:pull"`;
      return Response.json({ errors: [{ code: "UNAUTHORIZED" }] }, { status: 401, headers: { "www-authenticate": challenge } });
    }
    if (m[2] === "manifests") {
      if (req.headers.get("accept") !== "application/vnd.docker.distribution.manifest.v2+json") return new Response("bad accept", { status: 400 });
      const bytes = this.manifests.get(`${m[1]}:${m[3]}`);
      if (!bytes) return Response.json({ errors: [{ code: "MANIFEST_UNKNOWN" }] }, { status: 404 });
      return new Response(bytes, { headers: { "content-type": "application/vnd.docker.distribution.manifest.v2+json" } });
    }
    const hex = m[3]!.replace(/^sha256:/, "");
    if (!this.storage.blobs.has(hex)) return new Response("blob unknown", { status: 404 });
    return new Response(null, { status: 307, headers: { location: `${this.storage.origin}/blobs/${hex}?sig=fake` } });
  }

  stop(): void {
    this.server.stop(true);
    this.storage.stop();
  }
}

/** A store in a fresh temp directory. */
export function tempStore(): Store & { cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ollmlx-pull-"));
  const store = new Store(dir) as Store & { cleanup(): void };
  store.cleanup = () => rmSync(dir, { recursive: true, force: true });
  return store;
}

/** Runs a pull to the end: its progress objects, and the error it ended with, if any. */
export async function drain(progress: AsyncIterable<ProgressResponse>): Promise<{ events: ProgressResponse[]; error?: Error }> {
  const events: ProgressResponse[] = [];
  try {
    for await (const p of progress) events.push(p);
    return { events };
  } catch (error) {
    return { events, error: error as Error };
  }
}

/** A minimal valid GGUF v3 file: llama metadata and one F32 tensor. */
export function tinyGguf(fileType: number): Bytes {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  const u64 = (v: number) => {
    u32(v);
    u32(0);
  };
  const str = (s: string) => {
    const b = text(s);
    u64(b.length);
    parts.push(...b);
  };
  u32(0x46554747); // "GGUF"
  u32(3);
  u64(1); // tensors
  u64(4); // metadata entries
  str("general.architecture");
  u32(8);
  str("llama");
  str("general.file_type");
  u32(4);
  u32(fileType);
  str("llama.context_length");
  u32(4);
  u32(64);
  str("llama.embedding_length");
  u32(4);
  u32(8);
  str("token_embd.weight");
  u32(2);
  u64(8);
  u64(2);
  u32(0); // F32
  u64(0);
  while (parts.length % 32 !== 0) parts.push(0);
  const data = new Float32Array(16).map((_, i) => i / 16 + fileType);
  return new Uint8Array([...parts, ...new Uint8Array(data.buffer)]);
}
