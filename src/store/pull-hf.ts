// Pulling from Hugging Face. An MLX repo (config.json + *.safetensors, the mlx-community layout) becomes one layer
// per file, named by the file; a GGUF repo becomes a GGUF model of the quantization the tag names. What the model
// is (architecture, weights present) is decided from the listing and config.json before any weight byte is asked for.
import { HF_TOKEN, OLLAMA_MAX_TRANSFER_STREAMS, OLLMLX_PULL_RETRIES, OLLMLX_PULL_STALL_TIMEOUT } from "../config/settings.ts";
import { ggufConfigBlob } from "../formats/gguf/model-info.ts";
import { EMBEDDING_ARCHITECTURES, isEmbeddingArchitecture, SUPPORTED_ARCHITECTURES } from "../models/kinds.ts";
import { HfClient, mlxFiles, pickGguf, type HfSibling } from "./hf.ts";
import { downloadBlob, forEachLimited } from "./pull-blob.ts";
import { PullError, UnsupportedModelError } from "./pull-errors.ts";
import { retryTransient } from "./pull-http.ts";
import { ProgressQueue, pullingStatus, type ProgressResponse } from "./progress.ts";
import type { HfPullSource, PullContext, Pulled } from "./pull-types.ts";
import { MEDIA, mlxFileMediaType, type Layer, type ModelConfigBlob, type Store } from "./store.ts";


/** The config blob of an MLX model, from its config.json (file_type as create names MLX quantizations: int4, int8). */
export function mlxConfigBlob(hf: Record<string, unknown>): ModelConfigBlob {
  const arch = String(hf.model_type ?? "");
  const quant = (hf.quantization ?? hf.quantization_config) as { bits?: number; mode?: string } | undefined;
  const fileType = quant?.mode && quant.mode !== "affine" ? quant.mode : quant?.bits ? `int${quant.bits}` : String(hf.torch_dtype ?? hf.dtype ?? "");
  const config: ModelConfigBlob = {
    model_format: "safetensors",
    model_family: arch,
    model_families: arch ? [arch] : [],
    model_type: "",
    file_type: fileType,
    architecture: arch,
  };
  const text = (hf.text_config ?? {}) as Record<string, unknown>;
  const ctx = hf.max_position_embeddings ?? text.max_position_embeddings;
  const width = hf.hidden_size ?? text.hidden_size;
  if (typeof ctx === "number") config.context_length = ctx;
  if (typeof width === "number") config.embedding_length = width;
  return config;
}

/** Refuses, before any weight is fetched, a repo ollmlx could not run. */
function checkMlxRepo(repo: string, files: readonly HfSibling[], hf: Record<string, unknown>): void {
  const arch = typeof hf.model_type === "string" ? hf.model_type : "";
  if (!SUPPORTED_ARCHITECTURES.includes(arch) && !isEmbeddingArchitecture(arch)) {
    const supported = [...SUPPORTED_ARCHITECTURES, ...EMBEDDING_ARCHITECTURES].join(", ");
    throw new UnsupportedModelError(
      `hf.co/${repo}: model architecture "${arch || "unknown"}" is not supported by ollmlx (supported: ${supported})`,
    );
  }
  if (!files.some((f) => f.rfilename.endsWith(".safetensors"))) {
    throw new UnsupportedModelError(`hf.co/${repo} has no weights (.safetensors or .gguf files)`);
  }
}

async function* pullMlx(store: Store, source: HfPullSource, ctx: PullContext, client: HfClient, commit: string, siblings: HfSibling[]): AsyncGenerator<ProgressResponse, Pulled> {
  const { repo } = source;
  if (source.name.tag.toLowerCase() !== "latest") {
    throw new UnsupportedModelError(`hf.co/${repo} is an MLX (safetensors) repo: its only tag is latest, not "${source.name.tag}"`);
  }
  const files = mlxFiles(siblings);
  const configFile = files.find((f) => f.rfilename === "config.json");
  if (!configFile) throw new UnsupportedModelError(`hf.co/${repo} has no config.json and no GGUF files`);
  const configBytes = configFile.lfs ? null : await retryTransient(() => client.fetchSmall(commit, configFile), OLLMLX_PULL_RETRIES.read(ctx.env), ctx.signal);
  if (!configBytes) throw new PullError(`hf.co/${repo}: config.json is stored in LFS, which no MLX repo does`);
  let hf: Record<string, unknown>;
  try {
    hf = JSON.parse(new TextDecoder().decode(configBytes)) as Record<string, unknown>;
  } catch {
    throw new UnsupportedModelError(`hf.co/${repo}: config.json is not JSON`);
  }
  checkMlxRepo(repo, files, hf);

  const layers = new Map<string, Layer>();
  const configLayer = store.writeBlob(configBytes, MEDIA.json, "config.json");
  layers.set("config.json", configLayer);
  yield { status: pullingStatus(configLayer.digest), digest: configLayer.digest, total: configLayer.size, completed: configLayer.size };

  // Big files first, so the slowest downloads start early.
  const rest = files.filter((f) => f !== configFile).sort((a, b) => (b.lfs?.size ?? b.size ?? 0) - (a.lfs?.size ?? a.size ?? 0));
  const queue = new ProgressQueue();
  const work = forEachLimited(rest, OLLAMA_MAX_TRANSFER_STREAMS.read(ctx.env), ctx.signal, async (file, signal) => {
    const media = mlxFileMediaType(file.rfilename);
    if (file.lfs) {
      const digest = `sha256:${file.lfs.sha256}`;
      const size = await downloadBlob(
        store,
        { url: client.resolveUrl(commit, file.rfilename), headers: client.headers(), digest, size: file.lfs.size },
        { signal, onBytes: queue.layer(digest), stallMs: client.stallMs, retries: OLLMLX_PULL_RETRIES.read(ctx.env) },
      );
      layers.set(file.rfilename, { mediaType: media, digest, size, name: file.rfilename });
    } else {
      // Small files are fetched whole and checked against their size and git blob id.
      const scoped = new HfClient(client.endpoint, client.repo, HF_TOKEN.read(ctx.env), signal);
      scoped.stallMs = client.stallMs;
      const bytes = await retryTransient(() => scoped.fetchSmall(commit, file), OLLMLX_PULL_RETRIES.read(ctx.env), signal);
      const layer = store.writeBlob(bytes, media, file.rfilename);
      queue.layer(layer.digest)(layer.size, layer.size);
      layers.set(file.rfilename, layer);
    }
  });
  yield* queue.run(work);

  const ordered = files.map((f) => layers.get(f.rfilename)!).filter(Boolean);
  return { write: () => store.writeManifest(source.name, mlxConfigBlob(hf), ordered) };
}

async function* pullGguf(store: Store, source: HfPullSource, ctx: PullContext, client: HfClient, commit: string, siblings: HfSibling[]): AsyncGenerator<ProgressResponse, Pulled> {
  const file = pickGguf(siblings, source.name.tag, source.repo);
  if (!file.lfs) throw new PullError(`${file.rfilename}: the Hub lists no sha256 for it (not an LFS file)`);
  const digest = `sha256:${file.lfs.sha256}`;
  const queue = new ProgressQueue();
  const work = downloadBlob(
    store,
    { url: client.resolveUrl(commit, file.rfilename), headers: client.headers(), digest, size: file.lfs.size },
    { signal: ctx.signal, onBytes: queue.layer(digest), stallMs: client.stallMs, retries: OLLMLX_PULL_RETRIES.read(ctx.env) },
  );
  yield* queue.run(work);
  const size = file.lfs.size;
  return { write: () => store.writeManifest(source.name, ggufConfigBlob(store.blobPath(digest)), [{ mediaType: MEDIA.model, digest, size }]) };
}

export async function* pullFromHf(store: Store, source: HfPullSource, ctx: PullContext): AsyncGenerator<ProgressResponse, Pulled> {
  const client = new HfClient(source.endpoint, source.repo, HF_TOKEN.read(ctx.env), ctx.signal);
  client.stallMs = OLLMLX_PULL_STALL_TIMEOUT.read(ctx.env);
  yield { status: "pulling manifest" };
  const info = await retryTransient(() => client.info("main"), OLLMLX_PULL_RETRIES.read(ctx.env), ctx.signal);
  const hasSafetensors = info.siblings.some((s) => s.rfilename.endsWith(".safetensors"));
  const hasGguf = info.siblings.some((s) => s.rfilename.endsWith(".gguf"));
  // A quantization tag, or a repo of GGUF files only, means GGUF; otherwise the MLX files.
  if (hasGguf && (!hasSafetensors || source.name.tag.toLowerCase() !== "latest")) {
    return yield* pullGguf(store, source, ctx, client, info.sha, info.siblings);
  }
  return yield* pullMlx(store, source, ctx, client, info.sha, info.siblings);
}
