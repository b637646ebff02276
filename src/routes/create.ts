// POST /api/create, the JSON form (server/create.go): a new model from an existing one (`from`) or from uploaded
// blobs (`files`: one GGUF, or an MLX model directory's files), with template/system/parameters/messages/license
// layers on top. Not built yet: quantize, adapters, draft models (each refused with a 400).
import { ggufConfigBlob } from "../formats/gguf/model-info.ts";
import { GgufError } from "../formats/gguf/file.ts";
import { readFileSync, statSync } from "node:fs";
import { Elysia } from "elysia";
import { InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { progressResponse } from "../api/ndjson.ts";
import { CreateRequest, ErrorResponse, ProgressResponse } from "../schemas/index.ts";
import { InvalidModelNameError, parseModelName, type ModelName } from "../store/names.ts";
import { MEDIA, type Layer, type ModelConfigBlob } from "../store/store.ts";
import { findModel, type AppContext } from "./context.ts";

interface Base {
  config: ModelConfigBlob;
  layers: Layer[];
}

function nameOf(raw: string): ModelName {
  try {
    return parseModelName(raw);
  } catch (error) {
    if (error instanceof InvalidModelNameError) throw new InvalidRequestError(MESSAGES.invalidModelName);
    throw error;
  }
}

function mediaTypeOf(file: string): string {
  if (file.endsWith(".safetensors")) return MEDIA.safetensors;
  if (file.endsWith(".json")) return MEDIA.json;
  return MEDIA.file;
}

/** A file that is not a readable GGUF is the client's mistake: 400 with the reader's reason. */
function ggufConfigOrBadRequest(path: string): ModelConfigBlob {
  try {
    return ggufConfigBlob(path);
  } catch (e) {
    if (e instanceof GgufError) throw new InvalidRequestError(e.message);
    throw e;
  }
}

/** Uploaded blobs → layers: a GGUF file, or the files of an MLX (mlx-community layout) model directory. */
function fromFiles(app: AppContext, files: Record<string, string>): Base {
  const layers: Layer[] = [];
  for (const [file, digest] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    if (!/^sha256[:-][0-9a-f]{64}$/.test(digest)) throw new InvalidRequestError(MESSAGES.invalidDigest);
    const normalized = digest.replace("-", ":");
    if (!app.store.hasBlob(normalized)) throw new InvalidRequestError(`missing blob ${normalized} for ${file}`);
    const size = statSync(app.store.blobPath(normalized)).size;
    layers.push({ mediaType: mediaTypeOf(file), digest: normalized, size, name: file });
  }
  const gguf = layers.filter((l) => l.name!.endsWith(".gguf"));
  if (gguf.length > 0) {
    if (gguf.length > 1) throw new InvalidRequestError("only one GGUF file may be given");
    const { digest, size } = gguf[0]!;
    return {
      config: ggufConfigOrBadRequest(app.store.blobPath(digest)),
      layers: [{ mediaType: MEDIA.model, digest, size }],
    };
  }
  const configLayer = layers.find((l) => l.name === "config.json");
  if (!configLayer || !layers.some((l) => l.mediaType === MEDIA.safetensors)) {
    throw new InvalidRequestError("files must be one GGUF file, or config.json with safetensors weights and tokenizer files");
  }
  const hf = JSON.parse(readFileSync(app.store.blobPath(configLayer.digest), "utf8")) as Record<string, unknown>;
  const arch = String(hf.model_type ?? "");
  const quant = hf.quantization as { bits?: number } | undefined;
  const config: ModelConfigBlob = {
    model_format: "safetensors",
    model_family: arch,
    model_families: arch ? [arch] : [],
    model_type: "",
    file_type: quant?.bits ? `int${quant.bits}` : "",
    architecture: arch,
  };
  if (typeof hf.max_position_embeddings === "number") config.context_length = hf.max_position_embeddings;
  if (typeof hf.hidden_size === "number") config.embedding_length = hf.hidden_size;
  return { config, layers };
}

const REPLACED = [MEDIA.template, MEDIA.system, MEDIA.params, MEDIA.messages, MEDIA.license] as const;

async function* createProgress(app: AppContext, body: CreateRequest): AsyncGenerator<ProgressResponse> {
  const name = nameOf(body.model || body.name || "");
  if (body.quantize || body.quantization) throw new InvalidRequestError("quantize is not supported yet");
  if (body.adapters && Object.keys(body.adapters).length > 0) throw new InvalidRequestError("adapters are not supported yet");
  if (body.draft_files && Object.keys(body.draft_files).length > 0) throw new InvalidRequestError("draft models are not supported yet");

  let base: Base;
  let params: Record<string, unknown> = {};
  if (body.files && Object.keys(body.files).length > 0) base = fromFiles(app, body.files);
  else if (body.from) {
    const from = findModel(app.store, body.from);
    base = { config: from.config, layers: from.manifest.layers };
    const paramsLayer = from.manifest.layers.find((l) => l.mediaType === MEDIA.params);
    if (paramsLayer) params = JSON.parse(await Bun.file(app.store.blobPath(paramsLayer.digest)).text()) as Record<string, unknown>;
  } else throw new InvalidRequestError("neither 'from' or 'files' was specified");

  // Layers the request sets replace the base's of the same kind; parameters are merged over the base's.
  const replacing = new Set<string>();
  if (body.template) replacing.add(MEDIA.template);
  if (body.system) replacing.add(MEDIA.system);
  if (body.parameters) replacing.add(MEDIA.params);
  if (body.messages) replacing.add(MEDIA.messages);
  if (body.license) replacing.add(MEDIA.license);
  const layers = base.layers.filter((l) => !(REPLACED as readonly string[]).includes(l.mediaType) || !replacing.has(l.mediaType));
  for (const l of layers) yield { status: `using existing layer ${l.digest}` };

  const add = (data: string, mediaType: string): ProgressResponse => {
    const existed = app.store.hasBlob(`sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`);
    const layer = app.store.writeBlob(data, mediaType);
    layers.push(layer);
    return { status: `${existed ? "using existing" : "creating new"} layer ${layer.digest}` };
  };
  if (body.template) yield add(body.template, MEDIA.template);
  if (body.system) yield add(body.system, MEDIA.system);
  if (body.parameters) {
    const merged = { ...params };
    for (const [k, v] of Object.entries(body.parameters)) if (v !== null && v !== undefined) merged[k] = v;
    yield add(JSON.stringify(merged), MEDIA.params);
  }
  if (body.messages) yield add(JSON.stringify(body.messages), MEDIA.messages);
  for (const license of typeof body.license === "string" ? [body.license] : (body.license ?? [])) {
    yield add(license, MEDIA.license);
  }
  yield { status: "writing manifest" };
  app.store.writeManifest(name, base.config, layers);
  yield { status: "success" };
}

export function createRoutes(app: AppContext) {
  return new Elysia({ name: "create" }).post(
    "/api/create",
    async ({ body, request }) => {
      const progress = createProgress(app, body);
      return progressResponse(progress, body.stream, request.signal);
    },
    {
      body: CreateRequest,
      parse: "json",
      response: { 200: ProgressResponse, 400: ErrorResponse, 404: ErrorResponse },
      detail: {
        summary: "Create a model from another model or from uploaded blobs",
        description:
          "JSON form only. `from` an existing model, or `files` (one GGUF blob, or an MLX model directory's files " +
          "uploaded with POST /api/blobs), plus template/system/parameters/messages/license layers. " +
          "quantize, adapters and draft_files are not supported yet.",
        tags: ["models"],
      },
    },
  );
}
