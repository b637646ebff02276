// GGUF BERT encoders → the Hugging Face names and config.json our models read: llama.cpp's "bert" (the Ollama
// registry's all-minilm, bge, mxbai) as BertModel (models/bert.ts), "nomic-bert" (nomic-embed-text) as nomic's own
// checkpoint names (models/nomic-bert.ts).
import type { Config } from "../../models/config.ts";
import { GgufError, type GgufValue } from "./file.ts";

type Md = Record<string, GgufValue>;

function reader(md: Md, arch: string) {
  const num = (key: string) => {
    const v = md[`${arch}.${key}`];
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
  };
  const need = (key: string) => {
    const v = num(key);
    if (v === undefined) throw new GgufError(`GGUF metadata has no ${arch}.${key}`);
    return v;
  };
  return { num, need };
}

/** config.json for a GGUF encoder, or null when the architecture is not one of these. */
export function encoderConfigFromGguf(md: Md, arch: string): Config | null {
  if (arch === "bert") return bertConfig(md);
  if (arch === "nomic-bert") return nomicConfig(md);
  return null;
}

function nomicConfig(md: Md): Config {
  const { num, need } = reader(md, "nomic-bert");
  const typeCount = md["tokenizer.ggml.token_type_count"];
  return {
    model_type: "nomic_bert",
    n_embd: need("embedding_length"),
    n_layer: need("block_count"),
    n_inner: need("feed_forward_length"),
    n_head: need("attention.head_count"),
    layer_norm_epsilon: num("attention.layer_norm_epsilon") ?? 1e-12,
    rotary_emb_base: num("rope.freq_base") ?? 1000,
    max_trained_positions: need("context_length"),
    type_vocab_size: typeof typeCount === "number" ? typeCount : 2,
  };
}

function bertConfig(md: Md): Config {
  const { num, need } = reader(md, "bert");
  const tokens = md["tokenizer.ggml.tokens"];
  const typeCount = md["tokenizer.ggml.token_type_count"];
  return {
    model_type: "bert",
    hidden_size: need("embedding_length"),
    num_hidden_layers: need("block_count"),
    intermediate_size: need("feed_forward_length"),
    num_attention_heads: need("attention.head_count"),
    layer_norm_eps: num("attention.layer_norm_epsilon") ?? 1e-12,
    max_position_embeddings: need("context_length"),
    vocab_size: Array.isArray(tokens) ? tokens.length : undefined,
    type_vocab_size: typeof typeCount === "number" ? typeCount : 2,
  };
}

const TOP: Record<string, string> = {
  token_embd: "embeddings.word_embeddings",
  position_embd: "embeddings.position_embeddings",
  token_types: "embeddings.token_type_embeddings",
  token_embd_norm: "embeddings.LayerNorm",
};

const LAYER: Record<string, string> = {
  attn_q: "attention.self.query",
  attn_k: "attention.self.key",
  attn_v: "attention.self.value",
  attn_output: "attention.output.dense",
  attn_output_norm: "attention.output.LayerNorm",
  ffn_up: "intermediate.dense",
  ffn_down: "output.dense",
  layer_output_norm: "output.LayerNorm",
};

const NOMIC_TOP: Record<string, string> = {
  token_embd: "embeddings.word_embeddings",
  token_types: "embeddings.token_type_embeddings",
  token_embd_norm: "emb_ln",
};

const NOMIC_LAYER: Record<string, string> = {
  attn_qkv: "attn.Wqkv",
  attn_output: "attn.out_proj",
  attn_output_norm: "norm1",
  ffn_up: "mlp.fc11",
  ffn_gate: "mlp.fc12",
  ffn_down: "mlp.fc2",
  layer_output_norm: "norm2",
};

const NAMES: Record<string, [Record<string, string>, Record<string, string>, string]> = {
  bert: [TOP, LAYER, "encoder.layer"],
  nomic_bert: [NOMIC_TOP, NOMIC_LAYER, "encoder.layers"],
};

export function isGgufEncoder(modelType: string): boolean {
  return modelType in NAMES;
}

/** The module path of an encoder's GGUF tensor; null for the classifier head (cls.*), which embeddings never use. */
export function encoderModulePath(ggufName: string, modelType: string): { path: string; suffix: string } | null {
  const [top, layer, layers] = NAMES[modelType]!;
  return modulePath(ggufName, top, layer, layers);
}

function modulePath(
  ggufName: string,
  top: Record<string, string>,
  layer: Record<string, string>,
  layers: string,
): { path: string; suffix: string } | null {
  const m = /^(.*)\.(weight|bias)$/.exec(ggufName);
  if (!m) return null;
  const [, base, suffix] = m as unknown as [string, string, string];
  if (base in top) return { path: top[base]!, suffix };
  if (base.startsWith("cls")) return null;
  const b = /^blk\.(\d+)\.(.+)$/.exec(base);
  const part = b && layer[b[2]!];
  if (!b || !part) throw new GgufError(`GGUF encoder tensor ${ggufName} is not supported here`);
  return { path: `${layers}.${b[1]}.${part}`, suffix };
}
