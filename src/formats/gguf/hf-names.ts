// GGUF (llama.cpp) names and metadata → the Hugging Face / mlx-lm names and config.json our models read.
import type { Config } from "../../models/config.ts";
import { GgufError, type GgufValue } from "./file.ts";
import { encoderConfigFromGguf, encoderModulePath, isGgufEncoder } from "./bert-names.ts";
import { deepseekConfigFromGguf, glm4MoeConfigFromGguf, MOE_LAYER_NAMES } from "./moe-names.ts";

type Md = Record<string, GgufValue>;

const num = (md: Md, key: string): number | undefined => {
  const v = md[key];
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
};

const ARCH_TO_MODEL_TYPE: Record<string, string> = {
  llama: "llama",
  qwen2: "qwen2",
  qwen3: "qwen3",
  gemma2: "gemma2",
  gemma3: "gemma3_text",
  // EmbeddingGemma as llama.cpp's converter writes it (the Ollama registry's is "gemma3" with a pooling type)
  "gemma-embedding": "gemma3_text",
  phi3: "phi3",
  olmo2: "olmo2",
  starcoder2: "starcoder2",
  granite: "granite",
  smollm3: "smollm3",
  cohere2: "cohere2",
  qwen3moe: "qwen3_moe",
  deepseek2: "deepseek_v2",
  glm4moe: "glm4_moe",
  "gpt-oss": "gpt_oss",
  lfm2: "lfm2",
  qwen35: "qwen3_5",
  qwen35moe: "qwen3_5_moe",
  mistral3: "ministral3",
};

// llama.cpp's converter permutes the Q/K rows of these (its LlamaModel and subclasses) into the interleaved rope
// layout: rotating adjacent pairs (traditional rope) on those rows is the same attention.
const PERMUTED_QK = new Set(["llama", "granite", "smollm3", "mixtral", "ministral3"]);

/** Our model_type for a decoder's GGUF architecture (general.architecture). */
export function ggufModelType(arch: string): string {
  const modelType = ARCH_TO_MODEL_TYPE[arch];
  if (!modelType) {
    throw new GgufError(`GGUF architecture "${arch}" is not supported (supported: ${Object.keys(ARCH_TO_MODEL_TYPE).join(", ")})`);
  }
  return modelType;
}

/** config.json for our model modules, from `<arch>.*` metadata. */
export function configFromGguf(md: Md): Config {
  const arch = String(md["general.architecture"] ?? "");
  const encoder = encoderConfigFromGguf(md, arch);
  if (encoder) return encoder;
  let modelType = ggufModelType(arch);
  // Mixtral is llama to llama.cpp, with experts
  if (modelType === "llama" && (num(md, "llama.expert_count") ?? 0) > 0) modelType = "mixtral";
  const k = (name: string) => num(md, `${arch}.${name}`);
  const need = (name: string) => {
    const v = k(name);
    if (v === undefined) throw new GgufError(`GGUF metadata has no ${arch}.${name}`);
    return v;
  };
  const hidden = need("embedding_length");
  const heads = need("attention.head_count");
  const tokens = md["tokenizer.ggml.tokens"];
  const config: Config = {
    model_type: modelType,
    hidden_size: hidden,
    num_hidden_layers: need("block_count"),
    intermediate_size: need("feed_forward_length"),
    num_attention_heads: heads,
    num_key_value_heads: k("attention.head_count_kv") ?? heads,
    head_dim: k("attention.key_length") ?? hidden / heads,
    rms_norm_eps: k("attention.layer_norm_rms_epsilon") ?? 1e-6,
    vocab_size: k("vocab_size") ?? (Array.isArray(tokens) ? tokens.length : undefined),
    max_position_embeddings: k("context_length"),
    rope_theta: k("rope.freq_base") ?? (modelType === "llama" ? 10000 : 1e6),
    rope_traditional: PERMUTED_QK.has(modelType),
  };
  const ropeDims = k("rope.dimension_count");
  if (ropeDims !== undefined && ropeDims !== config.head_dim) config.partial_rotary_factor = ropeDims / Number(config.head_dim);
  const scalingType = md[`${arch}.rope.scaling.type`];
  if (typeof scalingType === "string" && scalingType !== "none") {
    config.rope_scaling = {
      type: scalingType,
      factor: k("rope.scaling.factor") ?? 1,
      original_max_position_embeddings: k("rope.scaling.original_context_length"),
    };
  }
  Object.assign(config, ARCH_CONFIG[modelType]?.(k, config, md) ?? {});
  if (modelType === "gemma3_text") {
    config.sliding_window = k("attention.sliding_window") ?? 512;
    config.query_pre_attn_scalar = Number(config.head_dim);
    const local = k("rope.freq_base_swa") ?? k("rope.local.freq_base");
    if (local !== undefined) config.rope_local_base_freq = local;
    // EmbeddingGemma: llama.cpp's own architecture, or Ollama's gemma3 with a pooling type (the only Gemma 3 it
    // serves as an embedding model) — both attend without the causal mask, as llama.cpp runs them.
    const embedding = arch === "gemma-embedding" || md[`${arch}.pooling_type`] !== undefined || md[`${arch}.attention.causal`] === false;
    if (embedding) config.use_bidirectional_attention = true;
  }
  return config;
}

type Key = (name: string) => number | undefined;

/** The config.json keys of the architectures whose models read more than the common ones, from `<arch>.*` metadata. */
const ARCH_CONFIG: Record<string, (k: Key, common: Config, md: Md) => Config> = {
  // Ministral 3 (llama.cpp's "mistral3"): the rope_parameters its converter wrote as rope scaling keys, Llama 4's
  // attention temperature as attention.temperature_scale (and, from Mistral's own format, temperature_length)
  ministral3: (k, common, md) => {
    const yarn = md["mistral3.rope.scaling.type"] === "yarn";
    const period = k("attention.temperature_length") ?? k("rope.scaling.original_context_length") ?? common.max_position_embeddings;
    return {
      rope_parameters: {
        rope_type: yarn ? "yarn" : "default",
        rope_theta: common.rope_theta,
        ...(yarn
          ? {
              factor: k("rope.scaling.factor") ?? 1,
              original_max_position_embeddings: k("rope.scaling.original_context_length"),
              beta_fast: k("rope.scaling.yarn_beta_fast") ?? 32,
              beta_slow: k("rope.scaling.yarn_beta_slow") ?? 1,
              mscale: 1,
              mscale_all_dim: k("rope.scaling.yarn_log_multiplier") ?? 0,
            }
          : {}),
        llama_4_scaling_beta: k("attention.temperature_scale") ?? 0,
        // without yarn, the period of the temperature alone (with yarn, ministral3.ts reads the same key)
        ...(yarn ? {} : { original_max_position_embeddings: period }),
      },
    };
  },
  // llama.cpp scales queries by 1/sqrt(head_dim), but by 1/sqrt(hidden/heads) in the 46-layer (27B) model
  gemma2: (k, c) => ({
    query_pre_attn_scalar: c.num_hidden_layers === 46 ? Number(c.hidden_size) / Number(c.num_attention_heads) : c.head_dim,
    attn_logit_softcapping: k("attn_logit_softcapping") ?? 50,
    final_logit_softcapping: k("final_logit_softcapping") ?? 30,
    sliding_window: k("attention.sliding_window"),
  }),
  starcoder2: (k) => ({ norm_epsilon: k("attention.layer_norm_epsilon") ?? 1e-5 }),
  granite: (k) => ({
    attention_multiplier: k("attention.scale") ?? 1,
    embedding_multiplier: k("embedding_scale") ?? 1,
    residual_multiplier: k("residual_scale") ?? 1,
    logits_scaling: k("logit_scale") ?? 1,
  }),
  // llama.cpp hard-codes SmolLM3's NoPE step and Command R7B's sliding-window pattern
  smollm3: () => ({ no_rope_layer_interval: 4 }),
  cohere2: (k) => ({
    layer_norm_eps: k("attention.layer_norm_epsilon") ?? 1e-5,
    logit_scale: k("logit_scale") ?? 1,
    sliding_window: k("attention.sliding_window") ?? 4096,
    sliding_window_pattern: k("attention.sliding_window_pattern") ?? 4,
  }),
  mixtral: (k) => ({ num_local_experts: k("expert_count"), num_experts_per_tok: k("expert_used_count") }),
  // llama.cpp's qwen3moe: every layer sparse, the top-k weights renormalized
  qwen3_moe: (k) => ({
    num_experts: k("expert_count"),
    num_experts_per_tok: k("expert_used_count"),
    moe_intermediate_size: k("expert_feed_forward_length"),
    norm_topk_prob: true,
    decoder_sparse_step: 1,
    mlp_only_layers: [],
  }),
  deepseek_v2: deepseekConfigFromGguf,
  glm4_moe: glm4MoeConfigFromGguf,
  // llama.cpp hard-codes gpt-oss's pattern (even layers sliding) and its yarn betas' defaults (32, 1)
  gpt_oss: (k, c) => ({
    num_local_experts: k("expert_count"),
    num_experts_per_tok: k("expert_used_count"),
    sliding_window: k("attention.sliding_window") ?? 128,
    layer_types: Array.from({ length: Number(c.num_hidden_layers) }, (_, i) => (i % 2 === 0 ? "sliding_attention" : "full_attention")),
    ...(c.rope_scaling ? { rope_scaling: { ...(c.rope_scaling as object), beta_fast: k("rope.scaling.yarn_beta_fast") ?? 32, beta_slow: k("rope.scaling.yarn_beta_slow") ?? 1 } } : {}),
  }),
  // llama.cpp's qwen35 (its converter's Qwen3NextModel): the linear-attention shape in ssm.*; its value heads are
  // stored tiled (k0v0, k1v0, ..., k0v1, ...) rather than grouped by key head, which the model follows
  qwen3_5: (k, c) => {
    const vHeads = k("ssm.time_step_rank") ?? 1;
    return {
      num_hidden_layers: Number(c.num_hidden_layers) - (k("nextn_predict_layers") ?? 0),
      linear_conv_kernel_dim: k("ssm.conv_kernel"),
      linear_key_head_dim: k("ssm.state_size"),
      linear_num_key_heads: k("ssm.group_count"),
      linear_num_value_heads: vHeads,
      linear_value_head_dim: (k("ssm.inner_size") ?? 0) / vHeads,
      full_attention_interval: k("full_attention_interval") ?? 4,
      linear_value_heads_tiled: true,
    };
  },
  // llama.cpp's qwen35moe (Qwen3_5MoeTextModel): qwen35's keys, and its experts as Qwen2MoeModel writes them
  qwen3_5_moe: (k, c, md) => ({
    ...ARCH_CONFIG.qwen3_5!(k, c, md),
    num_experts: k("expert_count"),
    num_experts_per_tok: k("expert_used_count"),
    moe_intermediate_size: k("expert_feed_forward_length"),
    shared_expert_intermediate_size: k("expert_shared_feed_forward_length"),
  }),
  // llama.cpp's lfm2 marks its conv layers by 0 kv heads (head_count_kv is one count per layer)
  lfm2: (k, c, md) => {
    const kvHeads = md["lfm2.attention.head_count_kv"];
    const perLayer = Array.isArray(kvHeads) ? kvHeads.map(Number) : null;
    return {
      norm_eps: k("attention.layer_norm_rms_epsilon") ?? 1e-5,
      conv_L_cache: k("shortconv.l_cache") ?? 3,
      conv_bias: false,
      num_key_value_heads: perLayer ? Math.max(...perLayer) : c.num_key_value_heads,
      layer_types: perLayer ? perLayer.map((n) => (n > 0 ? "full_attention" : "conv")) : undefined,
      block_ff_dim: c.intermediate_size,
      block_auto_adjust_ff_dim: false,
    };
  },
};

const LAYER_NAMES: Record<string, string> = {
  attn_q: "self_attn.q_proj",
  attn_k: "self_attn.k_proj",
  attn_v: "self_attn.v_proj",
  attn_qkv: "self_attn.qkv_proj",
  attn_output: "self_attn.o_proj",
  attn_q_norm: "self_attn.q_norm",
  attn_k_norm: "self_attn.k_norm",
  attn_norm: "input_layernorm",
  ffn_gate: "mlp.gate_proj",
  ffn_up: "mlp.up_proj",
  ffn_down: "mlp.down_proj",
};

const POST_NORMS = { post_attention_norm: "post_attention_layernorm", post_ffw_norm: "post_feedforward_layernorm" };
const GEMMA_NORMS = { ...POST_NORMS, ffn_norm: "pre_feedforward_layernorm" };

/** Where an architecture's block tensors differ from LAYER_NAMES (llama's, with ffn_norm the post-attention norm). */
// qwen35's linear-attention layers (and its MoE's, qwen35moe)
const QWEN35_NAMES = {
  post_attention_norm: "post_attention_layernorm",
  attn_qkv: "linear_attn.in_proj_qkv",
  attn_gate: "linear_attn.in_proj_z",
  ssm_alpha: "linear_attn.in_proj_a",
  ssm_beta: "linear_attn.in_proj_b",
  ssm_conv1d: "linear_attn.conv1d",
  ssm_norm: "linear_attn.norm",
  ssm_out: "linear_attn.out_proj",
};

const ARCH_LAYER_NAMES: Record<string, Record<string, string>> = {
  gemma2: GEMMA_NORMS,
  gemma3_text: GEMMA_NORMS,
  olmo2: POST_NORMS,
  phi3: { ffn_up: "mlp.gate_up_proj" },
  starcoder2: { ffn_up: "mlp.c_fc", ffn_down: "mlp.c_proj" },
  qwen3_moe: {
    ffn_gate_inp: "mlp.gate",
    ffn_gate_exps: "mlp.switch_mlp.gate_proj",
    ffn_up_exps: "mlp.switch_mlp.up_proj",
    ffn_down_exps: "mlp.switch_mlp.down_proj",
  },
  gpt_oss: {
    ...POST_NORMS,
    ffn_gate_inp: "mlp.router",
    ffn_gate_exps: "mlp.experts.gate_proj",
    ffn_up_exps: "mlp.experts.up_proj",
    ffn_down_exps: "mlp.experts.down_proj",
  },
  lfm2: {
    attn_norm: "operator_norm",
    ffn_norm: "ffn_norm",
    attn_output: "self_attn.out_proj",
    attn_q_norm: "self_attn.q_layernorm",
    attn_k_norm: "self_attn.k_layernorm",
    ffn_gate: "feed_forward.w1",
    ffn_up: "feed_forward.w3",
    ffn_down: "feed_forward.w2",
    "shortconv.conv": "conv.conv",
    "shortconv.in_proj": "conv.in_proj",
    "shortconv.out_proj": "conv.out_proj",
  },
  qwen3_5: QWEN35_NAMES,
  qwen3_5_moe: {
    ...QWEN35_NAMES,
    ffn_gate_inp: "mlp.gate",
    ffn_gate_exps: "mlp.switch_mlp.gate_proj",
    ffn_up_exps: "mlp.switch_mlp.up_proj",
    ffn_down_exps: "mlp.switch_mlp.down_proj",
    ffn_gate_shexp: "mlp.shared_expert.gate_proj",
    ffn_up_shexp: "mlp.shared_expert.up_proj",
    ffn_down_shexp: "mlp.shared_expert.down_proj",
    ffn_gate_inp_shexp: "mlp.shared_expert_gate",
  },
  mixtral: {
    ffn_gate_inp: "block_sparse_moe.gate",
    ffn_gate_exps: "block_sparse_moe.switch_mlp.gate_proj",
    ffn_up_exps: "block_sparse_moe.switch_mlp.up_proj",
    ffn_down_exps: "block_sparse_moe.switch_mlp.down_proj",
  },
  ...MOE_LAYER_NAMES,
};

/** The HF module path (without .weight/.bias) of a GGUF tensor, or null for tensors we do not use. */
export function hfModulePath(ggufName: string, modelType: string): { path: string; suffix: string } | null {
  if (isGgufEncoder(modelType)) return encoderModulePath(ggufName, modelType);
  // qwen35's A (= -exp(A_log)) has no suffix; its dt bias is mlx-lm's dt_bias
  const ssm = modelType === "qwen3_5" || modelType === "qwen3_5_moe" ? /^blk\.(\d+)\.(ssm_a|ssm_dt\.bias)$/.exec(ggufName) : null;
  if (ssm) return { path: `model.layers.${ssm[1]}.linear_attn`, suffix: ssm[2] === "ssm_a" ? "A" : "dt_bias" };
  const m = /^(.*)\.(weight|bias)$/.exec(ggufName);
  if (!m) return null;
  const [, base, suffix] = m as unknown as [string, string, string];
  if (base === "token_embd") return { path: "model.embed_tokens", suffix };
  if (base === "output_norm") return { path: "model.norm", suffix };
  if (base === "token_embd_norm" && modelType === "lfm2") return { path: "model.embedding_norm", suffix }; // its final norm
  if (base === "output") return { path: "lm_head", suffix };
  // EmbeddingGemma's projections after pooling: llama.cpp's dense_2/dense_3, Ollama's dense.0/dense.1
  const dense = /^dense(?:_(\d+)|\.(\d+))$/.exec(base);
  if (dense) return { path: `dense.${dense[1] !== undefined ? Number(dense[1]) - 2 : Number(dense[2])}`, suffix };
  if (base === "norm" && modelType === "gemma3_text") return { path: "model.norm", suffix }; // Ollama's older embeddinggemma
  if (base === "rope_freqs") return null;
  const b = /^blk\.(\d+)\.(.+)$/.exec(base);
  if (!b) return null;
  const [, layer, part] = b as unknown as [string, string, string];
  // DeepSeek-V3's and GLM-4.5's gate bias (llama.cpp's exp_probs_b.bias)
  if (part === "exp_probs_b") return { path: `model.layers.${layer}.mlp.gate`, suffix: "e_score_correction_bias" };
  // gpt-oss's per-head sink logits: llama.cpp's attn_sinks.weight is mlx-lm's bare self_attn.sinks
  if (part === "attn_sinks" && suffix === "weight") return { path: `model.layers.${layer}.self_attn`, suffix: "sinks" };
  const name = ARCH_LAYER_NAMES[modelType]?.[part] ?? (part === "ffn_norm" ? "post_attention_layernorm" : LAYER_NAMES[part]);
  if (!name) return null;
  return { path: `model.layers.${layer}.${name}`, suffix };
}
