// POST /api/create, the JSON form (server/create.go): a new model from an existing one (`from`) or from uploaded
// blobs (`files`: one GGUF, or an MLX model directory's files), with template/system/parameters/messages/license
// layers on top, and LoRA adapters (on a safetensors base mlx-lm or PEFT files, on a GGUF base a llama.cpp GGUF
// LoRA; checked against the base, applied at load, or with `fuse` merged into its weights: routes/fuse.ts, a GGUF
// base then stored as the MLX model its loader builds). Not built yet: quantize, draft models (each a 400).
import { ggufConfigBlob } from "../formats/gguf/model-info.ts";
import { GgufError, readGguf } from "../formats/gguf/file.ts";
import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { ADAPTER_FILES, ADAPTER_FOLDER, AdapterError, GGUF_ADAPTER_FILE, ggufBaseTensor, readAdapter, safetensorsHeader, type AdapterSpec } from "../formats/adapter.ts";
import { Elysia } from "elysia";
import { InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { progressResponse } from "../api/ndjson.ts";
import { CreateRequest, ErrorResponse, ProgressResponse } from "../schemas/index.ts";
import { InvalidModelNameError, parseModelName, type ModelName } from "../store/names.ts";
import { MEDIA, mlxFileMediaType, type Layer, type ModelConfigBlob } from "../store/store.ts";
import { findModel, type AppContext } from "./context.ts";
import { fuseAdapterLayers, fuseGgufAdapterLayers } from "./fuse.ts";

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
    layers.push({ mediaType: mlxFileMediaType(file), digest: normalized, size, name: file });
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

/**
 * An adapter's uploaded files as layers, checked against the base first: on a safetensors base an mlx-lm or PEFT
 * LoRA whose every module is a Linear of the base with the same shape; on a GGUF base a llama.cpp GGUF LoRA of
 * its architecture whose every tensor is one of the base's with the same shape (as llama.cpp checks it at load).
 * Ollama takes safetensors adapters on GGUF llama bases too, converting them: not here (its layout is the base's).
 */
function adapterLayers(app: AppContext, base: Base, adapters: Record<string, string>): Layer[] {
  if (base.layers.some((l) => l.mediaType === MEDIA.adapter)) throw new InvalidRequestError("only one adapter is supported: the base model already has one");
  const files: Record<string, string> = {};
  const layers: Layer[] = [];
  const entries = Object.entries(adapters).sort(([a], [b]) => a.localeCompare(b));
  const ggufs = entries.filter(([name]) => name.endsWith(".gguf"));
  if (ggufs.length > 1) throw new InvalidRequestError("only one adapter is supported: give one GGUF LoRA file");
  const ggufBase = base.config.model_format === "gguf";
  if (ggufs.length === 1 && !ggufBase) {
    throw new InvalidRequestError("invalid adapter: a GGUF LoRA applies to a GGUF model, and this base is safetensors (it takes mlx-lm and PEFT adapters)");
  }
  if (ggufs.length === 0 && ggufBase) {
    throw new InvalidRequestError("invalid adapter: a GGUF model takes a llama.cpp GGUF LoRA (an mlx-lm or PEFT adapter applies to safetensors models)");
  }
  for (const [name, digest] of ggufs.length === 1 ? ggufs : entries) {
    const file = ggufs.length === 1 ? GGUF_ADAPTER_FILE : basename(name);
    if (!(ADAPTER_FILES as readonly string[]).includes(file)) continue; // README.md, training args and the like
    if (!/^sha256[:-][0-9a-f]{64}$/.test(digest)) throw new InvalidRequestError(MESSAGES.invalidDigest);
    const normalized = digest.replace("-", ":");
    if (!app.store.hasBlob(normalized)) throw new InvalidRequestError(`missing blob ${normalized} for ${name}`);
    files[file] = app.store.blobPath(normalized);
    layers.push({ mediaType: MEDIA.adapter, digest: normalized, size: statSync(files[file]).size, name: `${ADAPTER_FOLDER}/${file}` });
  }
  let spec: AdapterSpec;
  try {
    spec = readAdapter(files);
  } catch (e) {
    if (e instanceof AdapterError) throw new InvalidRequestError(`invalid adapter: ${e.message}`);
    throw e;
  }
  if (ggufBase) checkGgufAdapterFits(app, base, spec);
  else checkAdapterFits(app, base, spec);
  return layers;
}

/** The adapter is for the base's architecture, and every tensor it adapts is one of the base's, [in → out] as A and B are. */
function checkGgufAdapterFits(app: AppContext, base: Base, spec: AdapterSpec): void {
  const model = base.layers.find((l) => l.mediaType === MEDIA.model)!;
  const file = readGguf(app.store.blobPath(model.digest));
  const architecture = String(file.metadata["general.architecture"] ?? "");
  if (spec.architecture !== architecture) {
    throw new InvalidRequestError(`invalid adapter: it is for ${spec.architecture} models, and the model is ${architecture}`);
  }
  const dims = new Map(file.tensors.map((t) => [t.name, t.dims]));
  for (const m of spec.modules.values()) {
    const tensor = ggufBaseTensor(m.a);
    const d = dims.get(tensor);
    if (!d || d.length !== 2) throw new InvalidRequestError(`invalid adapter: it adapts ${tensor}, which the model does not have`);
    // ggml dims [in, out]
    if (m.in !== d[0] || m.out !== d[1]) {
      throw new InvalidRequestError(`invalid adapter: its ${tensor} is [${m.in} → ${m.out}] but the model's is [${d[0]} → ${d[1]}]`);
    }
  }
}

/** Every adapted module is a Linear of the base, [in → out] as the adapter's A and B are. */
function checkAdapterFits(app: AppContext, base: Base, spec: AdapterSpec): void {
  const shapes = new Map<string, number[]>();
  let quant: Record<string, unknown> = {};
  for (const l of base.layers) {
    if (l.name === "config.json") quant = ((JSON.parse(readFileSync(app.store.blobPath(l.digest), "utf8")) as Record<string, unknown>).quantization ?? {}) as Record<string, unknown>;
    if (l.mediaType !== MEDIA.safetensors || l.name?.includes("/")) continue;
    for (const [name, t] of safetensorsHeader(app.store.blobPath(l.digest))) shapes.set(name, t.shape);
  }
  for (const [path, m] of spec.modules) {
    const weight = shapes.get(`${path}.weight`);
    if (!weight || weight.length !== 2) throw new InvalidRequestError(`invalid adapter: it adapts ${path}, which the model does not have`);
    const override = quant[path] as { bits?: number } | undefined;
    const bits = shapes.has(`${path}.scales`) ? Number(override?.bits ?? quant.bits ?? 4) : 32;
    const [out, packedIn] = weight as [number, number];
    const inFeatures = (packedIn * 32) / bits;
    if (m.in !== inFeatures || m.out !== out) {
      throw new InvalidRequestError(`invalid adapter: its ${path} is [${m.in} → ${m.out}] but the model's layer is [${inFeatures} → ${out}]`);
    }
  }
}

const REPLACED = [MEDIA.template, MEDIA.system, MEDIA.params, MEDIA.messages, MEDIA.license] as const;

async function* createProgress(app: AppContext, body: CreateRequest): AsyncGenerator<ProgressResponse> {
  const name = nameOf(body.model || body.name || "");
  if (body.quantize || body.quantization) throw new InvalidRequestError("quantize is not supported yet");
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
  // the adapter is checked before the first line goes out: a bad one is a 400, not an error line
  const adapter = body.adapters && Object.keys(body.adapters).length > 0 ? adapterLayers(app, base, body.adapters) : [];
  const layers = base.layers.filter((l) => !(REPLACED as readonly string[]).includes(l.mediaType) || !replacing.has(l.mediaType));
  if (body.fuse && adapter.length === 0) throw new InvalidRequestError("fuse merges an adapter into the base: give `adapters` (ADAPTER in a Modelfile)");
  for (const l of layers) yield { status: `using existing layer ${l.digest}` };
  for (const l of adapter) yield { status: `using adapter layer ${l.digest}` };
  let config = base.config;
  if (body.fuse) {
    yield { status: "fusing adapter" };
    // a GGUF base fused is the MLX model its loader builds: another config blob
    const fused = config.model_format === "gguf" ? await fuseGgufAdapterLayers(app, layers, config, adapter) : { ...(await fuseAdapterLayers(app, layers, adapter)), config };
    config = fused.config;
    for (const l of fused.added) yield { status: `creating new layer ${l.digest}` };
    layers.splice(0, layers.length, ...fused.all);
  } else layers.push(...adapter);

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
  app.store.writeManifest(name, config, layers);
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
          "adapters: an mlx-lm (adapters.safetensors) or PEFT (adapter_model.safetensors) LoRA with its adapter_config.json, on a safetensors base; " +
          "a llama.cpp GGUF LoRA (one .gguf file) on a GGUF base; " +
          "with `fuse: true` (an ollmlx field) merged into the base's weights as mlx_lm.fuse does instead of stored as an adapter layer " +
          "(a GGUF base is then stored as the MLX model its loader builds: affine groups of 32, K-quants requantized). " +
          "quantize and draft_files are not supported yet.",
        tags: ["models"],
      },
    },
  );
}
