// `pull`: a model from Hugging Face or an Ollama registry into the store, as a stream of Ollama's progress objects
// (§1.13): "pulling manifest", per layer "pulling <digest[7:19]>" with total/completed, "verifying sha256 digest",
// "writing manifest", ["removing unused layers"], "success". Every blob is verified before it is renamed into place and
// the manifest is written last, so a model is listed only once complete; an interrupted pull leaves `-partial` files
// that the next pull resumes.
import { OLLAMA_NOPRUNE } from "../config/settings.ts";
import { pullFromHf } from "./pull-hf.ts";
import { pullFromRegistry } from "./pull-registry.ts";
import type { Env } from "../config/env.ts";
import { resolvePullSource } from "./pull-source.ts";
import type { PullContext } from "./pull-types.ts";
import type { ProgressResponse } from "./progress.ts";
import type { Store } from "./store.ts";

export { resolvePullSource, HF_HOSTS, HF_MLX_ORGS } from "./pull-source.ts";
export type { PullSource } from "./pull-types.ts";
export { PullError, ManifestNotFoundError, DigestMismatchError, UnsupportedModelError, InsecureProtocolError } from "./pull-errors.ts";

export interface PullOptions {
  /** allow http:// registries (and use http for a name without a scheme), as Ollama's `insecure` */
  insecure?: boolean;
  /** aborting stops the downloads; partial files stay for the next pull */
  signal?: AbortSignal;
  /** HF_ENDPOINT, HF_TOKEN, OLLAMA_MAX_TRANSFER_STREAMS, OLLAMA_NOPRUNE, OLLMLX_PULL_STALL_TIMEOUT, OLLMLX_PULL_RETRIES (default process.env) */
  env?: Env;
}

export async function* pullModel(store: Store, model: string, options: PullOptions = {}): AsyncGenerator<ProgressResponse> {
  const env = options.env ?? process.env;
  const source = resolvePullSource(model, { insecure: options.insecure, env });
  // One signal for the whole pull: the caller's, or the consumer leaving the stream early (finally below).
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const ctx: PullContext = { signal: controller.signal, env };
  try {
    const previous = store.readManifest(source.name);
    const pulled = source.kind === "hf" ? yield* pullFromHf(store, source, ctx) : yield* pullFromRegistry(store, source, ctx);
    // Each blob was hashed as it arrived and renamed only if it matched its digest.
    yield { status: "verifying sha256 digest" };
    yield { status: "writing manifest" };
    const manifest = pulled.write();
    if (previous && !OLLAMA_NOPRUNE.read(env)) {
      const kept = new Set([manifest.config, ...manifest.layers].map((l) => l.digest));
      const orphaned = [previous.config, ...previous.layers].map((l) => l.digest).filter((d) => !kept.has(d));
      if (orphaned.length > 0) {
        yield { status: "removing unused layers" };
        store.removeUnusedBlobs(orphaned);
      }
    }
    yield { status: "success" };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    controller.abort();
  }
}
