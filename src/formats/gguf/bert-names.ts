// GGUF BERT (llama.cpp's "bert" architecture, as the Ollama registry serves all-minilm and the bge/mxbai family) →
// the Hugging Face BertModel names and config.json that models/bert.ts reads.
import type { Config } from "../../models/config.ts";
import { GgufError, type GgufValue } from "./file.ts";

type Md = Record<string, GgufValue>;

export function bertConfigFromGguf(md: Md): Config {
  const num = (key: string) => {
    const v = md[`bert.${key}`];
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
  };
  const need = (key: string) => {
    const v = num(key);
    if (v === undefined) throw new GgufError(`GGUF metadata has no bert.${key}`);
    return v;
  };
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

/** The BertModel module path of a GGUF tensor; null for the classifier head (cls.*), which embeddings never use. */
export function bertModulePath(ggufName: string): { path: string; suffix: string } | null {
  const m = /^(.*)\.(weight|bias)$/.exec(ggufName);
  if (!m) return null;
  const [, base, suffix] = m as unknown as [string, string, string];
  if (base in TOP) return { path: TOP[base]!, suffix };
  if (base.startsWith("cls")) return null;
  const b = /^blk\.(\d+)\.(.+)$/.exec(base);
  const part = b && LAYER[b[2]!];
  if (!b || !part) throw new GgufError(`GGUF BERT tensor ${ggufName} is not supported (a fused attn_qkv is not, yet)`);
  return { path: `encoder.layer.${b[1]}.${part}`, suffix };
}
