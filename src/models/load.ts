// Loading a model directory in the mlx-community layout: config.json, model*.safetensors (with or without
// the index), quantization block. Weights are read lazily by MLX and evaluated here, in the runner.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { astype, cpuKernels, dequantize, device, eval as evalArrays, fromBytes, isFloating, loadSafetensors, type MxArray } from "../ffi/index.ts";
import type { Config } from "./config.ts";
import type { CausalLM } from "./model.ts";
import { builderFor } from "./registry.ts";
import type { LoadedAdapter } from "./adapter.ts";
import type { Lora } from "./layers/linear.ts";
import { ModelLoadError } from "./errors.ts";
import { widenTo8Bits } from "../formats/gguf/repack.ts";
import { parseQuantConfig, Weights, type QuantConfig } from "./weights.ts";

export { ModelLoadError } from "./errors.ts";

export function readConfig(dir: string): Config {
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new ModelLoadError(`${dir} has no config.json`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Config;
  } catch (e) {
    throw new ModelLoadError(`config.json is not valid JSON: ${(e as Error).message}`);
  }
}

/** The weight files: the index's shards if there is an index, else every model*.safetensors. */
export function weightFiles(dir: string): string[] {
  const index = join(dir, "model.safetensors.index.json");
  if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, "utf8")) as { weight_map?: Record<string, string> }).weight_map ?? {};
    return [...new Set(Object.values(map))].sort().map((f) => join(dir, f));
  }
  const files = readdirSync(dir).filter((f) => /^model.*\.safetensors$/.test(f)).sort();
  if (files.length === 0) throw new ModelLoadError(`${dir} has no model*.safetensors`);
  return files.map((f) => join(dir, f));
}

/**
 * VLM-style wrappers keep the text model under text_config and its weights under language_model. (or, in newer
 * transformers layouts, model.language_model.): the text model's model_type, as mlx-lm picks it for each wrapper.
 */
const WRAPPERS: Record<string, (text: Config, outer: Config) => Config> = {
  gemma3: (text) => ({ ...text, model_type: "gemma3_text" }),
  // mlx-lm's qwen3_5.py runs text_config (model_type qwen3_5_text) itself; the head is untied unless it says otherwise
  qwen3_5: (text) => ({ tie_word_embeddings: false, ...text, model_type: "qwen3_5" }),
  qwen3_5_moe: (text) => ({ tie_word_embeddings: false, ...text, model_type: "qwen3_5_moe" }),
  // mlx-lm's mistral3.py: ministral3 (and mistral4) text models run as themselves, every other one through llama.py;
  // the head is untied unless text_config says otherwise
  mistral3: (text) => ({
    tie_word_embeddings: false,
    ...text,
    model_type: text.model_type === "ministral3" || text.model_type === "mistral4" ? text.model_type : "llama",
  }),
  // mlx-lm's gemma4.py: the wrapper's vocab_size wins, and the head counts default to 8 and 1
  gemma4: (text, outer) => ({
    num_attention_heads: 8,
    num_key_value_heads: 1,
    ...text,
    vocab_size: typeof outer.vocab_size === "number" ? outer.vocab_size : 262144,
    model_type: "gemma4_text",
  }),
};

/** A wrapper's tensor name → the text model's, or null for the vision tower and projector. */
function textTensorName(name: string): string | null {
  // (Gemma 4 adds an audio tower and its embedders; Qwen3.5's vision tower is `visual`)
  if (/^(model\.)?(vision_tower|multi_modal_projector|audio_tower|embed_audio|embed_vision|vision_embedder|visual)\./.test(name)) return null;
  if (name.startsWith("model.language_model.")) return `model.${name.slice("model.language_model.".length)}`;
  if (name.startsWith("language_model.")) return name.slice("language_model.".length);
  return name;
}

/** The text model of a VLM-style wrapper (gemma3, mistral3): its config and tensors; other configs as they are. */
function unwrap(config: Config, tensors: Map<string, MxArray>): Config {
  const toText = WRAPPERS[String(config.model_type)];
  if (!toText || typeof config.text_config !== "object" || !config.text_config) return config;
  for (const [name, t] of [...tensors]) {
    const text = textTensorName(name);
    if (text === name) continue;
    tensors.delete(name);
    if (text === null) t.free();
    else tensors.set(text, t);
  }
  // per-layer quantization overrides are keyed by module path: the text model's paths too
  const renamed = (q: unknown) =>
    q && typeof q === "object" ? Object.fromEntries(Object.entries(q).map(([k, v]) => [textTensorName(k) ?? k, v])) : q;
  return { ...toText(config.text_config as Config, config), quantization: renamed(config.quantization), quantization_config: renamed(config.quantization_config) };
}

/** Every quantized layer's (weight, scales, biases), with its quantization parameters. */
function* quantizedLayers(tensors: Map<string, MxArray>, quant: QuantConfig) {
  const probe = new Weights(tensors, quant);
  for (const key of [...tensors.keys()]) {
    if (!key.endsWith(".scales")) continue;
    const path = key.slice(0, -".scales".length);
    const q = probe.quantFor(path);
    const weight = tensors.get(`${path}.weight`);
    if (!q || !weight) continue;
    yield { path, q, weight, scales: tensors.get(key)!, biases: tensors.get(`${path}.biases`) ?? null };
  }
}

/** Replaces every quantized (weight, scales, biases) triple by its float32 matrix, and marks the path dense. */
function dequantizeAll(tensors: Map<string, MxArray>, quant: QuantConfig): void {
  for (const { path, q, weight, scales, biases } of quantizedLayers(tensors, quant)) {
    const dense = dequantize(weight, scales, biases, { groupSize: q.groupSize, bits: q.bits, mode: q.mode, dtype: "float32" });
    evalArrays(dense);
    weight.free();
    scales.free();
    biases?.free();
    tensors.delete(`${path}.scales`);
    tensors.delete(`${path}.biases`);
    tensors.set(`${path}.weight`, dense);
    quant.overrides.set(path, false);
  }
}

/**
 * The shim's CPU kernels read 4- and 8-bit weights; other widths (GGUF's Q5 and Q6 families, mlx-community's
 * 3-, 5- and 6-bit models) are stored again as 8-bit values with the same scales and biases: the same weights
 * exactly, read by the kernels instead of MLX's scalar loop.
 */
function widenOddBits(tensors: Map<string, MxArray>, quant: QuantConfig): void {
  for (const { path, q, weight } of quantizedLayers(tensors, quant)) {
    if (q.mode !== "affine" || q.bits === 4 || q.bits === 8 || weight.dtype !== "uint32") continue;
    const shape = weight.shape;
    const wide = widenTo8Bits(weight.toBytes(), q.bits);
    tensors.set(`${path}.weight`, fromBytes(wide, [...shape.slice(0, -1), (shape[shape.length - 1]! * 8) / q.bits], "uint32"));
    weight.free();
    quant.overrides.set(path, { ...q, bits: 8 });
  }
}

export function loadModelDir(dir: string, opts: BuildOptions = {}): Built {
  let config = readConfig(dir);
  const modelType = String(config.model_type ?? "");
  if (!modelType) throw new ModelLoadError("config.json has no model_type");
  const tensors = new Map<string, MxArray>();
  try {
    for (const file of weightFiles(dir)) {
      for (const [name, t] of loadSafetensors(file).tensors) tensors.set(name, t);
    }
    config = unwrap(config, tensors);
    builderFor(String(config.model_type));
  } catch (e) {
    for (const t of tensors.values()) t.free();
    throw e;
  }
  return build(config, tensors, opts);
}

export interface BuildOptions {
  /** run quantized layers as float32 matrices (the CPU path with MLX's own ops: see engine/cpu-backend.ts) */
  dequantize?: boolean;
  /** convert every floating-point tensor (norms, embeddings, scales and biases) to this dtype at load */
  floatDtype?: "float32";
  /** a LoRA adapter applied unfused over the frozen weights (its tensors are taken: the model owns them) */
  adapter?: LoadedAdapter;
}

/** Builds a model from named tensors (safetensors or repacked GGUF); every tensor must be used. */
/** A built model, its config, and its layers' adapters by module path (empty without one). */
export interface Built {
  model: CausalLM;
  config: Config;
  loras: ReadonlyMap<string, Lora>;
}

export function build(config: Config, tensors: Map<string, MxArray>, opts: BuildOptions = {}): Built {
  const quant = parseQuantConfig(config);
  if (opts.floatDtype) {
    for (const [key, t] of tensors) {
      if (!isFloating(t.dtype) || t.dtype === opts.floatDtype) continue;
      tensors.set(key, astype(t, opts.floatDtype));
      t.free();
    }
  }
  if (opts.dequantize && quant) dequantizeAll(tensors, quant);
  else if (quant && device.defaultDevice() === "cpu" && cpuKernels() !== "mlx") widenOddBits(tensors, quant);
  // the adapter's tensors join the model's under their module's path: every one must find its Linear
  for (const [name, t] of opts.adapter?.tensors ?? []) tensors.set(name, t);
  using ws = new Weights(tensors, quant, opts.adapter?.scale ?? 0);
  const arrays = [...tensors.values()];
  // Read the weights now (load time), a few hundred at a time to bound the graph.
  for (let i = 0; i < arrays.length; i += 256) evalArrays(...arrays.slice(i, i + 256));
  let model: CausalLM;
  try {
    model = builderFor(String(config.model_type))(config, ws);
  } catch (e) {
    // the modules built before the failure hold some of these: freeing is idempotent, so free them all
    for (const t of arrays) t.free();
    throw e;
  }
  const unused = ws.remaining();
  if (unused.length > 0) {
    model[Symbol.dispose]();
    const lora = unused.filter((n) => /\.lora_[ab]$/.test(n));
    if (lora.length > 0) throw new ModelLoadError(`the adapter adapts modules the model does not have: ${lora.slice(0, 5).join(", ")}`);
    throw new ModelLoadError(`model weights have ${unused.length} tensors the architecture does not use: ${unused.slice(0, 5).join(", ")}`);
  }
  return { model, config, loras: ws.loras };
}
