// `push`: a model of the store to an Ollama registry, as a stream of Ollama's progress objects (server/images.go
// PushModel): "retrieving manifest", per layer and the config blob "pushing <digest[7:19]>" with digest/total/completed
// (a blob the registry has is reported once, complete), "pushing manifest", "success". The manifest goes up last and
// byte for byte as stored, so the registry's digest of it is the store's and a pull gets the same file back.
import { readFileSync } from "node:fs";
import { OllamaError } from "../api/errors.ts";
import { DEFAULT_HOST, DEFAULT_NAMESPACE, parseModelName, type ModelName } from "./names.ts";
import { PROGRESS_INTERVAL_MS, ProgressQueue, type OnBytes, type ProgressResponse } from "./progress.ts";
import { HF_HOSTS } from "./pull-source.ts";
import { InsecureProtocolError } from "./pull-errors.ts";
import { RegistryClient, RegistryError, statusError } from "./registry.ts";
import { MEDIA, ModelNotInStoreError, type Layer, type Store, type StoredModel } from "./store.ts";
import { uploadBlob } from "./upload.ts";

export { RegistryError } from "./registry.ts";

export interface PushOptions {
  /** allow http:// registries (and use http for a name without a scheme), as Ollama's `insecure` */
  insecure?: boolean;
  /** aborting stops the uploads */
  signal?: AbortSignal;
}

/** Ollama's per-layer status: "pushing " + the 12 hex digits after "sha256:". */
export function pushingStatus(digest: string): string {
  return `pushing ${digest.slice(7, 19)}`;
}

/** One layer's progress line; Go's omitempty leaves out a zero count. */
function layerProgress(digest: string, total: number, completed: number): ProgressResponse {
  return { status: pushingStatus(digest), digest, ...(total ? { total } : {}), ...(completed ? { completed } : {}) };
}

/** A throttled reporter for one layer: the first and the last update always go out, those between at most every interval. */
function layerReporter(queue: ProgressQueue, digest: string): OnBytes {
  let last = -Infinity;
  let lastCompleted = -1;
  return (completed, total) => {
    const now = performance.now();
    if (completed === lastCompleted || (completed < total && now - last < PROGRESS_INTERVAL_MS)) return;
    last = now;
    lastCompleted = completed;
    queue.push(layerProgress(digest, total, completed));
  };
}

/** The stored model, or Ollama's error for a manifest that is not there (ParseNamedManifest's open error). */
function findModel(store: Store, name: ModelName): StoredModel {
  try {
    return store.get(name);
  } catch (error) {
    if (error instanceof ModelNotInStoreError) {
      throw new OllamaError(500, `open ${store.manifestPath(name)}: no such file or directory`);
    }
    throw error;
  }
}

export async function* pushModel(store: Store, model: string, options: PushOptions = {}): AsyncGenerator<ProgressResponse> {
  const scheme = /^([a-z]+):\/\//i.exec(model.trim())?.[1]?.toLowerCase();
  const requested = parseModelName(model);
  yield { status: "retrieving manifest" };
  if (scheme === "http" && !options.insecure) throw new InsecureProtocolError();

  let found: StoredModel;
  try {
    found = findModel(store, requested);
  } catch (error) {
    yield { status: "couldn't retrieve manifest" };
    throw error;
  }
  // The name as stored (Ollama's getExistingName matches case-insensitively and pushes the stored spelling).
  const name = found.name;
  const host = name.host.toLowerCase();
  if ((HF_HOSTS as readonly string[]).includes(host)) {
    throw new RegistryError(`pushing to Hugging Face is not supported: ${host} does not speak the Ollama registry protocol`);
  }
  // Only Ollama's own models live under library/ on its registry: it refuses everyone else (errUnauthorized there).
  if (host === DEFAULT_HOST && name.namespace === DEFAULT_NAMESPACE) throw new RegistryError("unauthorized: access denied");

  const bytes = readFileSync(store.manifestPath(name));
  const { manifest } = found;
  const base = `${scheme ?? (options.insecure ? "http" : "https")}://${name.host}`;

  // One signal for the whole push: the caller's, or the consumer leaving the stream early (finally below).
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const client = new RegistryClient(base, `${name.namespace}/${name.model}`, controller.signal);
    // The layers, then the config blob, as Ollama; a layer listed twice goes up once.
    const seen = new Set<string>();
    const layers: Layer[] = [...manifest.layers, manifest.config].filter((l) => !seen.has(l.digest) && seen.add(l.digest));
    const queue = new ProgressQueue();
    const work = (async () => {
      for (const layer of layers) {
        await uploadBlob(client, layer, { path: store.blobPath(layer.digest), onBytes: layerReporter(queue, layer.digest), signal: controller.signal });
      }
    })();
    yield* queue.run(work);

    yield { status: "pushing manifest" };
    const url = client.manifestUrl(name.tag);
    const res = await client.send("PUT", url, { headers: { "Content-Type": MEDIA.manifest }, body: () => bytes });
    if (res.status >= 400) throw await statusError(res);
    await res.body?.cancel();
    yield { status: "success" };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    controller.abort();
  }
}
