// Pulling from an Ollama registry (server/images.go PullModel): the manifest, then every layer and the config blob
// (skipping those already in the store), each resumable and verified, then the manifest bytes as the registry sent them.
import { OLLAMA_MAX_TRANSFER_STREAMS, OLLMLX_PULL_RETRIES, OLLMLX_PULL_STALL_TIMEOUT } from "../config/settings.ts";
import { downloadBlob, forEachLimited } from "./pull-blob.ts";
import { retryTransient } from "./pull-http.ts";
import { ProgressQueue, type ProgressResponse } from "./progress.ts";
import { RegistryClient } from "./registry.ts";
import type { Layer, Store } from "./store.ts";
import type { PullContext, Pulled, RegistryPullSource } from "./pull-types.ts";


export async function* pullFromRegistry(store: Store, source: RegistryPullSource, ctx: PullContext): AsyncGenerator<ProgressResponse, Pulled> {
  const { name } = source;
  const client = new RegistryClient(source.base, `${name.namespace}/${name.model}`, ctx.signal);
  client.stallMs = OLLMLX_PULL_STALL_TIMEOUT.read(ctx.env);
  yield { status: "pulling manifest" };
  const { bytes, manifest } = await retryTransient(() => client.manifest(name.tag), OLLMLX_PULL_RETRIES.read(ctx.env), ctx.signal);

  // Ollama reports the config blob with the layers; layers listed twice download once.
  const seen = new Set<string>();
  const layers: Layer[] = [...manifest.layers, manifest.config].filter((l) => !seen.has(l.digest) && seen.add(l.digest));
  const queue = new ProgressQueue();
  const work = forEachLimited(layers, OLLAMA_MAX_TRANSFER_STREAMS.read(ctx.env), ctx.signal, async (layer, signal) => {
    await downloadBlob(
      store,
      { url: client.blobUrl(layer.digest), headers: client.authHeaders(), digest: layer.digest, size: layer.size },
      { signal, onBytes: queue.layer(layer.digest), stallMs: client.stallMs, retries: OLLMLX_PULL_RETRIES.read(ctx.env) },
    );
  });
  yield* queue.run(work);
  return { write: () => store.writeManifestBytes(name, bytes) };
}
