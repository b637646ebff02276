// Loading an embedding model's weights: a Hugging Face encoder directory (config.json + model*.safetensors), or
// named tensors from a GGUF file; a decoder among them (Qwen3-Embedding, EmbeddingGemma) is built by load.ts and
// wrapped (decoder-embedder.ts), and Dense projections after pooling load apart (dense-head.ts). As in load.ts,
// every tensor must find its module.
import { join } from "node:path";
import { astype, isFloating, loadSafetensors, type MxArray, eval as evalArrays } from "../ffi/index.ts";
import { loadGgufWeights } from "../formats/gguf/to-mlx.ts";
import type { GgufFile } from "../formats/gguf/file.ts";
import type { Config } from "./config.ts";
import type { EncoderModel } from "./encoder.ts";
import { build, ModelLoadError, readConfig, weightFiles } from "./load.ts";
import { DecoderEmbedder } from "./decoder-embedder.ts";
import { isEmbeddingArchitecture } from "./kinds.ts";
import { DecoderLM } from "./model.ts";
import { encoderBuilderFor } from "./registry.ts";
import { parseQuantConfig, Weights } from "./weights.ts";
import { DenseHead } from "./dense-head.ts";
import type { DenseModule } from "../formats/sentence-transformers.ts";

/** BertForMaskedLM / XLMRobertaForMaskedLM-style checkpoints keep the encoder under `bert.` / `roberta.`; heads go. */
function stripTaskPrefix(tensors: Map<string, MxArray>): void {
  for (const [name, t] of [...tensors]) {
    const prefix = ["bert.", "roberta."].find((p) => name.startsWith(p));
    if (prefix) {
      tensors.delete(name);
      tensors.set(name.slice(prefix.length), t);
    } else if (name.startsWith("cls.") || name.startsWith("classifier.") || name.startsWith("lm_head.")) {
      t.free();
      tensors.delete(name);
    }
  }
}

/** An embedding model's parts: the transformer, and the Dense projections after pooling when it has them. */
export interface EncoderParts {
  model: EncoderModel;
  config: Config;
  head: DenseHead | null;
}

/** `dense`: the sentence-transformers Dense modules (formats/sentence-transformers.ts), in pipeline order. */
export function loadEncoderDir(dir: string, dense: readonly DenseModule[] = []): EncoderParts {
  const config = readConfig(dir);
  const modelType = String(config.model_type ?? "");
  const builder = isEmbeddingArchitecture(modelType) ? encoderBuilderFor(modelType) : null;
  const tensors = new Map<string, MxArray>();
  try {
    for (const file of weightFiles(dir)) for (const [name, t] of loadSafetensors(file).tensors) tensors.set(name, t);
  } catch (e) {
    for (const t of tensors.values()) t.free();
    throw e;
  }
  return withHead(config, tensors, dense, dir, () => {
    if (!builder) return buildDecoderEmbedder(config, tensors);
    stripTaskPrefix(tensors);
    return buildEncoder(config, tensors, builder);
  });
}

/**
 * Takes the Dense projections out of `tensors` before the transformer is built from the rest: dense.N.* in the
 * model's own weights (mlx-community conversions, GGUF), else each module folder's linear.* (Hugging Face's layout).
 */
function withHead(config: Config, tensors: Map<string, MxArray>, dense: readonly DenseModule[], dir: string | null, buildModel: () => EncoderModel): EncoderParts {
  const own = new Map<string, MxArray>();
  let head: DenseHead | null = null;
  try {
    for (const [name, t] of [...tensors]) {
      if (!/^dense\.\d+\./.test(name)) continue;
      own.set(name, t);
      tensors.delete(name);
    }
    if (own.size === 0 && dir) {
      dense.forEach((m, i) => {
        for (const [name, t] of loadSafetensors(join(dir, m.path, "model.safetensors")).tensors) own.set(name.replace(/^linear\./, `dense.${i}.`), t);
      });
    }
    using ws = new Weights(own, parseQuantConfig(config));
    head = DenseHead.load(ws, dense.map((m) => m.activation));
    const unused = ws.remaining();
    if (unused.length > 0) throw new ModelLoadError(`the Dense modules have tensors ollmlx does not use: ${unused.slice(0, 5).join(", ")}`);
  } catch (e) {
    head?.[Symbol.dispose]();
    for (const t of [...tensors.values(), ...own.values()]) t.free(); // `own` is empty once its Weights is disposed
    throw e;
  }
  try {
    return { model: buildModel(), config, head };
  } catch (e) {
    head?.[Symbol.dispose](); // the build frees the transformer's own tensors
    throw e;
  }
}

/**
 * A decoder saved as the bare transformer (Qwen3Model: `layers.0...`, no `model.` prefix, no head) gets mlx-lm's
 * names; a missing head is tied, never used: embeddings stop at the final norm.
 */
function buildDecoderEmbedder(config: Config, tensors: Map<string, MxArray>): EncoderModel {
  if (!tensors.has("model.embed_tokens.weight") && tensors.has("embed_tokens.weight")) {
    for (const [name, t] of [...tensors]) {
      tensors.delete(name);
      tensors.set(`model.${name}`, t);
    }
  }
  const head = { ...config, tie_word_embeddings: config.tie_word_embeddings === true || !tensors.has("lm_head.weight") };
  const { model } = build(head, tensors);
  if (!(model instanceof DecoderLM)) {
    model[Symbol.dispose]();
    throw new ModelLoadError(`${String(config.model_type)} cannot serve as an embedding model`);
  }
  const text = (config.text_config ?? config) as Config;
  const bidirectional = text.use_bidirectional_attention === true;
  return new DecoderEmbedder(model, Number(text.hidden_size), Number(text.max_position_embeddings ?? 0) || 32768, bidirectional);
}

/**
 * A GGUF embedding model, with the file for its metadata: an encoder (names as formats/gguf/bert-names.ts maps them),
 * or a causal architecture with a pooling type (Qwen3-Embedding as the Ollama registry serves it).
 */
export function loadGgufEncoder(path: string): EncoderParts & { file: GgufFile } {
  const { file, config, tensors } = loadGgufWeights(path);
  const encoder = isEmbeddingArchitecture(String(config.model_type));
  const parts = withHead(config, tensors, [], null, () => (encoder ? buildEncoder(config, tensors) : buildDecoderEmbedder(config, tensors)));
  return { ...parts, file };
}

/**
 * Every tensor must find its module. Float weights run as float32: encoders are small (22M–335M parameters), a
 * forward pass is one batched prefill, and F16/BF16 files (GGUF's usual F16) then give the float32 model's vectors.
 */
export function buildEncoder(config: Config, tensors: Map<string, MxArray>, builder = encoderBuilderFor(String(config.model_type ?? ""))): EncoderModel {
  for (const [key, t] of tensors) {
    if (!isFloating(t.dtype) || t.dtype === "float32") continue;
    tensors.set(key, astype(t, "float32"));
    t.free();
  }
  using ws = new Weights(tensors, parseQuantConfig(config));
  const arrays = [...tensors.values()];
  for (let i = 0; i < arrays.length; i += 256) evalArrays(...arrays.slice(i, i + 256));
  const model = builder(config, ws);
  const unused = ws.remaining();
  if (unused.length > 0) {
    model[Symbol.dispose]();
    throw new ModelLoadError(`model weights have ${unused.length} tensors the architecture does not use: ${unused.slice(0, 5).join(", ")}`);
  }
  return model;
}
