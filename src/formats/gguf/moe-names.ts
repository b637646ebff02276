// llama.cpp's "deepseek2" (DeepSeek-V2 and V3/R1 alike) and "glm4moe" (GLM-4.5/4.6) → config.json and tensor names.
// deepseek2 is MLA written as MQA: head_count_kv 1, key_length = kv_lora_rank + rope dims; the per-head sizes are in
// key_length_mla / value_length_mla (older files: key_length / value_length themselves). V3 is told from V2 by its
// sigmoid gate (expert_gating_func 2). mscale is not written: yarn_log_multiplier is 0.1 · mscale_all_dim, and the
// released models have mscale = mscale_all_dim.
import type { Config } from "../../models/config.ts";
import type { GgufValue } from "./file.ts";

type Key = (name: string) => number | undefined;

const GATING_SIGMOID = 2;

/** The shortest decimal m with fround(0.1 · m) = the stored float32: the mscale_all_dim the converter started from. */
export function mscaleFromLogMultiplier(stored: number): number {
  for (let digits = 1; digits <= 17; digits++) {
    const m = Number((stored / 0.1).toPrecision(digits));
    if (Math.fround(0.1 * m) === stored) return m;
  }
  return stored / 0.1;
}

function moeConfig(k: Key, md: Record<string, GgufValue>, arch: string): Config {
  return {
    n_routed_experts: k("expert_count"),
    n_shared_experts: k("expert_shared_count") || undefined,
    num_experts_per_tok: k("expert_used_count"),
    moe_intermediate_size: k("expert_feed_forward_length"),
    first_k_dense_replace: k("leading_dense_block_count") ?? 0,
    routed_scaling_factor: k("expert_weights_scale") ?? 1,
    norm_topk_prob: md[`${arch}.expert_weights_norm`] === true,
    n_group: k("expert_group_count") ?? 1,
    topk_group: k("expert_group_used_count") ?? 1,
  };
}

export function deepseekConfigFromGguf(k: Key, common: Config, md: Record<string, GgufValue>): Config {
  const v3 = k("expert_gating_func") === GATING_SIGMOID;
  const ropeDim = k("rope.dimension_count") ?? 64;
  const mla = k("attention.key_length_mla") !== undefined;
  const keyLength = (mla ? k("attention.key_length_mla") : k("attention.key_length")) ?? 192;
  const moe = moeConfig(k, md, "deepseek2");
  const config: Config = {
    ...moe,
    model_type: v3 ? "deepseek_v3" : "deepseek_v2",
    num_key_value_heads: common.num_attention_heads,
    q_lora_rank: k("attention.q_lora_rank") ?? null,
    kv_lora_rank: k("attention.kv_lora_rank"),
    qk_rope_head_dim: ropeDim,
    qk_nope_head_dim: keyLength - ropeDim,
    v_head_dim: (mla ? k("attention.value_length_mla") : k("attention.value_length")) ?? 128,
    topk_method: v3 ? "noaux_tc" : Number(moe.n_group) > 1 ? "group_limited_greedy" : "greedy",
    scoring_func: v3 ? "sigmoid" : "softmax",
    partial_rotary_factor: undefined,
    head_dim: undefined,
  };
  const scaling = md["deepseek2.rope.scaling.type"];
  if (scaling === "yarn") {
    const logMul = k("rope.scaling.yarn_log_multiplier");
    const mscale = logMul !== undefined ? mscaleFromLogMultiplier(logMul) : 0;
    config.rope_scaling = {
      type: "yarn",
      factor: k("rope.scaling.factor") ?? 1,
      original_max_position_embeddings: k("rope.scaling.original_context_length") ?? 4096,
      beta_fast: k("rope.scaling.yarn_beta_fast") ?? 32,
      beta_slow: k("rope.scaling.yarn_beta_slow") ?? 1,
      mscale: mscale || 1,
      mscale_all_dim: mscale,
    };
  }
  return config;
}

export function glm4MoeConfigFromGguf(k: Key, _common: Config, md: Record<string, GgufValue>): Config {
  return { ...moeConfig(k, md, "glm4moe"), topk_method: "noaux_tc", scoring_func: "sigmoid" };
}

const EXPERT_NAMES = {
  ffn_gate_inp: "mlp.gate",
  ffn_gate_exps: "mlp.switch_mlp.gate_proj",
  ffn_up_exps: "mlp.switch_mlp.up_proj",
  ffn_down_exps: "mlp.switch_mlp.down_proj",
  ffn_gate_shexp: "mlp.shared_experts.gate_proj",
  ffn_up_shexp: "mlp.shared_experts.up_proj",
  ffn_down_shexp: "mlp.shared_experts.down_proj",
};

const MLA_NAMES = {
  ...EXPERT_NAMES,
  attn_q_a: "self_attn.q_a_proj",
  attn_q_a_norm: "self_attn.q_a_layernorm",
  attn_q_b: "self_attn.q_b_proj",
  attn_kv_a_mqa: "self_attn.kv_a_proj_with_mqa",
  attn_kv_a_norm: "self_attn.kv_a_layernorm",
  // the fused form (older files) and llama.cpp's split (k_b transposed: MultiLinear's layout as it is)
  attn_kv_b: "self_attn.kv_b_proj",
  attn_k_b: "self_attn.embed_q",
  attn_v_b: "self_attn.unembed_out",
};

/** Block tensor names that differ from llama's (llama.cpp's GLM-4.5 calls its pre-FFN norm post_attention_norm). */
export const MOE_LAYER_NAMES: Record<string, Record<string, string>> = {
  deepseek_v2: MLA_NAMES,
  deepseek_v3: MLA_NAMES,
  glm4_moe: { ...EXPERT_NAMES, post_attention_norm: "post_attention_layernorm" },
};
