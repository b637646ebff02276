// LoRA adapters as the tools that train them save them, read into one shape: per adapted module (mlx-lm's path,
// `model.layers.N.self_attn.q_proj`) an A of [in, r] and a B of [r, out], and one scale, as mlx-lm's LoRALinear
// applies them: y = W x + scale · (x A) B.
//   mlx-lm (`mlx_lm.lora`): adapters.safetensors (`<path>.lora_a` [in, r], `<path>.lora_b` [r, out]) and
//     adapter_config.json (`fine_tune_type`, `lora_parameters.scale`);
//   PEFT: adapter_model.safetensors (`base_model.model.<path>.lora_A.weight` [r, in], `lora_B.weight` [out, r]) and
//     adapter_config.json (`r`, `lora_alpha`: scale alpha / r, or alpha / sqrt(r) with `use_rslora`);
//   llama.cpp (convert_lora_to_gguf.py, for a GGUF base; what Ollama stores): one GGUF, `general.type` adapter,
//     `adapter.type` lora, `adapter.lora.alpha`; `<base tensor>.lora_a` of ggml dims [in, r] and `.lora_b` [r, out]
//     (PEFT's [r, in] / [out, r] row-major), named after the base's tensors, in its row order (llama's Q/K rows
//     permuted as the base's); scale alpha / r, or 1 when alpha is 0 (llama-adapter.cpp).
// Plain data (JSON and safetensors headers): the server checks an adapter here before it is stored; the runner
// loads its tensors (models/adapter.ts).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GgufError, readGguf, type GgufFile } from "./gguf/file.ts";
import { ggufModelType, hfModulePath } from "./gguf/hf-names.ts";

export class AdapterError extends Error {
  override name = "AdapterError";
}

export type AdapterFormat = "mlx-lm" | "peft" | "gguf";

/** One adapted module: the stored names of A and B and the shapes they will have ([in, r], [r, out]). */
export interface AdapterModule {
  a: string;
  b: string;
  in: number;
  rank: number;
  out: number;
  /** its own scale where it is not the adapter's (a GGUF module of another rank: alpha over its rank) */
  scale?: number;
}

export interface AdapterSpec {
  format: AdapterFormat;
  /** the safetensors (or GGUF) file that holds the tensors */
  weights: string;
  scale: number;
  /** per module path */
  modules: Map<string, AdapterModule>;
  /** a GGUF adapter's general.architecture: llama.cpp applies it only to a base of that architecture */
  architecture?: string;
}

/** The name a GGUF LoRA is kept under among a model's adapter files, whatever it was uploaded as. */
export const GGUF_ADAPTER_FILE = "adapter.gguf";

/** The files an adapter is made of, by their names: the config and one safetensors file, or one GGUF. */
export const ADAPTER_FILES = ["adapter_config.json", "adapters.safetensors", "adapter_model.safetensors", GGUF_ADAPTER_FILE] as const;

/** Where a store model keeps its adapter's files, inside its directory of links (store.modelPath). */
export const ADAPTER_FOLDER = "adapter";

/** The adapter whose files a folder holds. */
export function readAdapterDir(dir: string): AdapterSpec {
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir)) if ((ADAPTER_FILES as readonly string[]).includes(f)) files[f] = join(dir, f);
  return readAdapter(files);
}

/** A safetensors file's header: tensor names → dtype and shape (the JSON before the data). */
export function safetensorsHeader(path: string): Map<string, { dtype: string; shape: number[] }> {
  const bytes = readFileSync(path);
  if (bytes.length < 8) throw new AdapterError(`${path}: not a safetensors file (too short)`);
  const length = Number(bytes.readBigUInt64LE(0));
  if (length <= 0 || 8 + length > bytes.length) throw new AdapterError(`${path}: not a safetensors file (bad header length)`);
  let header: Record<string, { dtype?: string; shape?: number[] }>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8")) as typeof header;
  } catch {
    throw new AdapterError(`${path}: not a safetensors file (the header is not JSON)`);
  }
  const out = new Map<string, { dtype: string; shape: number[] }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (typeof t?.dtype !== "string" || !Array.isArray(t.shape)) throw new AdapterError(`${path}: tensor ${name} has no dtype or shape`);
    out.set(name, { dtype: t.dtype, shape: t.shape });
  }
  return out;
}

function readConfig(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new AdapterError(`adapter_config.json is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Reads an adapter from its files (`files`: file name → path on disk) into the modules it adapts, with their
 * shapes; what ollmlx cannot apply (DoRA, a full fine-tune, other PEFT types, embeddings) is an AdapterError.
 */
export function readAdapter(files: Readonly<Record<string, string>>): AdapterSpec {
  if (files[GGUF_ADAPTER_FILE]) return ggufAdapter(files[GGUF_ADAPTER_FILE]);
  const configPath = files["adapter_config.json"];
  if (!configPath) throw new AdapterError("an adapter needs its adapter_config.json");
  const config = readConfig(configPath);
  if (files["adapters.safetensors"]) return mlxLmAdapter(config, files["adapters.safetensors"]);
  if (files["adapter_model.safetensors"]) return peftAdapter(config, files["adapter_model.safetensors"]);
  throw new AdapterError("an adapter needs adapters.safetensors (mlx-lm) or adapter_model.safetensors (PEFT)");
}

const positive = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;

function mlxLmAdapter(config: Record<string, unknown>, weights: string): AdapterSpec {
  const type = config.fine_tune_type ?? "lora";
  if (type !== "lora") throw new AdapterError(`mlx-lm fine_tune_type ${JSON.stringify(type)} is not supported (lora is)`);
  const scale = (config.lora_parameters as { scale?: unknown } | undefined)?.scale;
  if (!positive(scale)) throw new AdapterError("adapter_config.json has no lora_parameters.scale");
  const header = safetensorsHeader(weights);
  const modules = new Map<string, AdapterModule>();
  for (const name of header.keys()) {
    const m = /^(.*)\.lora_([ab])$/.exec(name);
    if (!m) throw new AdapterError(`${name} is not a LoRA tensor (<module>.lora_a or .lora_b)`);
    const path = m[1]!;
    if (modules.has(path)) continue;
    const a = header.get(`${path}.lora_a`);
    const b = header.get(`${path}.lora_b`);
    if (!a || !b) throw new AdapterError(`${path} has only one of lora_a and lora_b`);
    if (a.shape.length !== 2 || b.shape.length !== 2 || a.shape[1] !== b.shape[0]) {
      throw new AdapterError(`${path}: lora_a ${JSON.stringify(a.shape)} and lora_b ${JSON.stringify(b.shape)} are not [in, r] and [r, out]`);
    }
    modules.set(path, { a: `${path}.lora_a`, b: `${path}.lora_b`, in: a.shape[0]!, rank: a.shape[1]!, out: b.shape[1]! });
  }
  if (modules.size === 0) throw new AdapterError("the adapter has no tensors");
  return { format: "mlx-lm", weights, scale, modules };
}

function peftAdapter(config: Record<string, unknown>, weights: string): AdapterSpec {
  if (config.peft_type !== "LORA") throw new AdapterError(`PEFT type ${JSON.stringify(config.peft_type)} is not supported (LORA is)`);
  if (config.use_dora === true) throw new AdapterError("DoRA adapters are not supported");
  const r = config.r;
  const alpha = config.lora_alpha ?? r;
  if (!positive(r) || !positive(alpha)) throw new AdapterError("adapter_config.json needs a positive r and lora_alpha");
  const scale = config.use_rslora === true ? alpha / Math.sqrt(r) : alpha / r;
  const header = safetensorsHeader(weights);
  const modules = new Map<string, AdapterModule>();
  for (const name of header.keys()) {
    const m = /^base_model\.model\.(.*)\.lora_([AB])(?:\.default)?\.weight$/.exec(name);
    if (!m) throw new AdapterError(`${name} is not a PEFT LoRA tensor (base_model.model.<module>.lora_A.weight or lora_B.weight)`);
    const path = m[1]!;
    if (modules.has(path)) continue;
    const stored = (ab: string) => [...header.keys()].find((k) => k.startsWith(`base_model.model.${path}.lora_${ab}`) && k.endsWith(".weight"));
    const aName = stored("A");
    const bName = stored("B");
    const a = aName ? header.get(aName) : undefined;
    const b = bName ? header.get(bName) : undefined;
    if (!a || !b) throw new AdapterError(`${path} has only one of lora_A and lora_B`);
    if (a.shape.length !== 2 || b.shape.length !== 2 || a.shape[0] !== b.shape[1]) {
      throw new AdapterError(`${path}: lora_A ${JSON.stringify(a.shape)} and lora_B ${JSON.stringify(b.shape)} are not [r, in] and [out, r]`);
    }
    modules.set(path, { a: aName!, b: bName!, in: a.shape[1]!, rank: a.shape[0]!, out: b.shape[0]! });
  }
  if (modules.size === 0) throw new AdapterError("the adapter has no tensors");
  return { format: "peft", weights, scale, modules };
}

const LORA_TENSOR = /^(.*)\.lora_([ab])$/;

/** The base tensor a GGUF adapter module's A adapts (`blk.0.attn_q.weight` for `blk.0.attn_q.weight.lora_a`). */
export const ggufBaseTensor = (loraA: string): string => loraA.replace(LORA_TENSOR, "$1");

function ggufAdapter(path: string): AdapterSpec {
  let file: GgufFile;
  try {
    file = readGguf(path);
  } catch (e) {
    if (e instanceof GgufError) throw new AdapterError(e.message);
    throw e;
  }
  const md = file.metadata;
  if (md["general.type"] !== "adapter") {
    throw new AdapterError(`the GGUF is not an adapter: its general.type is ${JSON.stringify(md["general.type"] ?? null)}, not "adapter" (a model's GGUF goes in FROM)`);
  }
  if (md["adapter.type"] !== "lora") throw new AdapterError(`GGUF adapter.type ${JSON.stringify(md["adapter.type"] ?? null)} is not supported (lora is)`);
  const architecture = String(md["general.architecture"] ?? "");
  let modelType: string;
  try {
    modelType = ggufModelType(architecture);
  } catch (e) {
    if (e instanceof GgufError) throw new AdapterError(e.message);
    throw e;
  }
  const stored = new Map(file.tensors.map((t) => [t.name, t]));
  const modules = new Map<string, AdapterModule>();
  for (const t of file.tensors) {
    const m = LORA_TENSOR.exec(t.name);
    if (!m) throw new AdapterError(`${t.name} is not a LoRA tensor (<tensor>.lora_a or .lora_b)`);
    const target = m[1]!;
    const a = stored.get(`${target}.lora_a`);
    const b = stored.get(`${target}.lora_b`);
    if (!a || !b) throw new AdapterError(`${target} has only one of lora_a and lora_b`);
    if (a.dims.length !== 2 || b.dims.length !== 2 || a.dims[1] !== b.dims[0]) {
      // llama.cpp's check (a.ne[1] == b.ne[0]): "lora_a tensor is not transposed"
      throw new AdapterError(`${target}: lora_a [${a.dims.join(", ")}] and lora_b [${b.dims.join(", ")}] are not ggml [in, r] and [r, out]`);
    }
    if (target === "token_embd.weight") throw new AdapterError("a LoRA on token_embd (the embeddings) is not supported");
    const module = hfModulePath(target, modelType);
    if (!module || module.suffix !== "weight") throw new AdapterError(`${target} is not a weight ollmlx can adapt`);
    modules.set(module.path, { a: a.name, b: b.name, in: a.dims[0]!, rank: a.dims[1]!, out: b.dims[1]! });
  }
  if (modules.size === 0) throw new AdapterError("the adapter has no tensors");
  // llama-adapter.cpp: each tensor's scale is alpha over its own rank (b.ne[0]), or 1 without alpha; the adapter's
  // is its first module's, and a module of another rank keeps its own
  const alpha = md["adapter.lora.alpha"];
  const scaleOf = (rank: number) => (typeof alpha === "number" && alpha !== 0 ? alpha / rank : 1);
  const scale = scaleOf(modules.values().next().value!.rank);
  for (const m of modules.values()) if (scaleOf(m.rank) !== scale) m.scale = scaleOf(m.rank);
  return { format: "gguf", weights: path, scale, modules, architecture };
}
