// Uploading one blob to a registry, as Ollama does (server/upload.go, Docker Registry v2 chunked upload):
//   HEAD …/blobs/<digest>                         there already → reported complete, nothing sent
//   POST …/blobs/uploads/[?mount=<digest>&from=<repo>]   201 = mounted from another repository; 202 + Location
//   PATCH <location>  Content-Range: a-b          one per part, each answer names the next location; a 307 sends
//                                                 the part with PUT to the storage URL in its Location instead
//   PUT <location>?digest=<digest>&etag=<md5 of the parts' md5s>-<parts>   the registry checks the digest
// Parts are Ollama's size: the blob in 64, each between 100 MB and 1000 MB; they go one after another (Ollama sends
// them two at a time only to storage that accepts parallel parts). A failed part is not retried: the error says why.
import { createHash, type Hash } from "node:crypto";
import { parseModelName } from "./names.ts";
import type { OnBytes } from "./progress.ts";
import { RegistryError, statusError, type RegistryClient } from "./registry.ts";
import type { Layer } from "./store.ts";

const MB = 1000 * 1000;
const PARTS = 64;
const MIN_PART = 100 * MB;
const MAX_PART = 1000 * MB;

/** Ollama's part size for a blob of `total` bytes. */
export function partSize(total: number): number {
  return Math.min(MAX_PART, Math.max(MIN_PART, Math.floor(total / PARTS)));
}

export type UploadOutcome = "exists" | "mounted" | "uploaded";

export interface UploadOptions {
  /** the blob's bytes on disk */
  path: string;
  onBytes: OnBytes;
  /** stops a part on its way to storage (requests to the registry stop with the client's own signal) */
  signal?: AbortSignal;
}

function nextLocation(res: Response, from: string): string | null {
  const location = res.headers.get("docker-upload-location") ?? res.headers.get("location");
  return location ? new URL(location, from).toString() : null;
}

/** `from` is the model the layer came from (Ollama's Layer.From); the registry wants its namespace/model. */
function mountSource(from: string | undefined): string | null {
  if (!from) return null;
  try {
    const n = parseModelName(from);
    return `${n.namespace}/${n.model}`;
  } catch {
    return null;
  }
}

/** Go's http.Response.Status for a part the registry refused: "http status 500 Internal Server Error: <body>". */
async function partError(res: Response): Promise<RegistryError> {
  const text = (await res.text().catch(() => "")).trim().slice(0, 300);
  return new RegistryError(`http status ${res.status} ${res.statusText}: ${text}`);
}

/** One part's bytes, streamed from disk, counted and hashed (md5, for the commit's etag) as they are read. */
class Part {
  sent = 0;
  private md5: Hash = createHash("md5");

  constructor(
    private readonly file: Blob,
    readonly start: number,
    readonly end: number,
    private readonly onSent: (sent: number) => void,
  ) {}

  /** A fresh body: a request answered with a 401 or a redirect sends it again, so the count starts over. */
  body = (): ReadableStream<Uint8Array> => {
    this.sent = 0;
    this.md5 = createHash("md5");
    return this.file
      .slice(this.start, this.end)
      .stream()
      .pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform: (chunk, controller) => {
            this.md5.update(chunk);
            this.sent += chunk.length;
            this.onSent(this.sent);
            controller.enqueue(chunk);
          },
        }),
      );
  };

  digest(): Buffer {
    return this.md5.digest();
  }
}

async function putToStorage(url: URL, part: Part, signal?: AbortSignal): Promise<Response> {
  try {
    const headers = { "Content-Type": "application/octet-stream", "Content-Length": String(part.end - part.start) };
    return await fetch(url, { method: "PUT", headers, body: part.body(), signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    throw new RegistryError(`Put "${url}": ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Sends one part to `location`; returns where the next part (or the commit) goes. */
async function sendPart(client: RegistryClient, location: string, part: Part, signal?: AbortSignal): Promise<string> {
  const headers = {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(part.end - part.start),
    "Content-Range": `${part.start}-${part.end - 1}`,
    "X-Redirect-Uploads": "1",
  };
  const res = await client.send("PATCH", location, { headers, body: part.body });
  if (res.status === 307) {
    // The registry hands the part to its storage: PUT it there (a signed URL: no registry credentials).
    const storage = res.headers.get("location");
    const next = res.headers.get("docker-upload-location");
    await res.body?.cancel();
    if (!storage || !next) throw new RegistryError(`PATCH "${location}": a redirect without its locations`);
    const put = await putToStorage(new URL(storage, location), part, signal);
    if (put.status >= 400) throw await partError(put);
    await put.body?.cancel();
    return new URL(next, location).toString();
  }
  if (res.status >= 400) throw await partError(res);
  await res.body?.cancel();
  return nextLocation(res, location) ?? location;
}

/** HEAD, then POST: "exists" or "mounted" when nothing needs sending, else the location of the new upload. */
async function startUpload(client: RegistryClient, layer: Layer): Promise<"exists" | "mounted" | string> {
  const head = await client.send("HEAD", client.blobUrl(layer.digest));
  await head.body?.cancel();
  if (head.status < 400) return "exists";
  if (head.status !== 404) throw await statusError(head);

  const start = new URL(`${client.base}/v2/${client.repository}/blobs/uploads/`);
  // A layer copied from another model names its repository: the registry may link the blob instead of a re-upload.
  const from = mountSource(layer.from);
  if (from) {
    start.searchParams.append("mount", layer.digest);
    start.searchParams.append("from", from);
  }
  const prepared = await client.send("POST", start.toString());
  if (prepared.status >= 400) throw await statusError(prepared);
  await prepared.body?.cancel();
  if (prepared.status === 201) return "mounted";
  const location = nextLocation(prepared, start.toString());
  if (!location) throw new RegistryError(`POST "${start}": the registry gave no upload location`);
  return location;
}

export async function uploadBlob(client: RegistryClient, layer: Layer, options: UploadOptions): Promise<UploadOutcome> {
  const { onBytes } = options;
  const total = layer.size;
  const started = await startUpload(client, layer);
  if (started === "exists" || started === "mounted") {
    onBytes(total, total);
    return started;
  }
  const file = Bun.file(options.path);
  if (file.size !== total) throw new RegistryError(`blob ${layer.digest} is ${file.size} bytes on disk, the manifest says ${total}`);
  let location = started;
  const sums: Buffer[] = [];
  const size = partSize(total);
  onBytes(0, total);
  for (let offset = 0; offset < total; offset += size) {
    const part = new Part(file, offset, Math.min(total, offset + size), (sent) => onBytes(offset + sent, total));
    location = await sendPart(client, location, part, options.signal);
    sums.push(part.digest());
  }

  const commit = new URL(location);
  commit.searchParams.append("digest", layer.digest);
  commit.searchParams.append("etag", `${createHash("md5").update(Buffer.concat(sums)).digest("hex")}-${sums.length}`);
  const committed = await client.send("PUT", commit.toString(), {
    headers: { "Content-Type": "application/octet-stream", "Content-Length": "0" },
    body: () => new Uint8Array(0),
  });
  if (committed.status >= 400) throw await statusError(committed);
  await committed.body?.cancel();
  onBytes(total, total);
  return "uploaded";
}
