// DeepSeek-V2 (deepseek-coder-v2-lite) and DeepSeek-V3/R1: llama's pre-norm blocks with multi-head latent attention
// (layers/mla.ts) and DeepSeek's MoE (layers/deepseek-moe.ts): the first first_k_dense_replace layers (and those off
// moe_layer_freq) keep a dense SwiGLU, the rest route to experts beside shared ones.
// V2 (mlx-lm's deepseek_v2.py): always yarn RoPE, softmax gate, kv_b_proj expanded into per-head keys and values.
// V3 (deepseek_v3.py): RoPE as rope_scaling says, sigmoid "noaux_tc" gate, kv_b_proj absorbed (embed_q/unembed_out).
import { KVCache } from "./layers/kv-cache.ts";
import { DeepseekMoE, type DeepseekGate } from "./layers/deepseek-moe.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { MlaAttention, type MlaParts } from "./layers/mla.ts";
import { absorbKvB } from "./layers/mla-absorb.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { MultiLinear } from "./layers/multi-linear.ts";
import { RMSNorm } from "./layers/norm.ts";
import { initializeRope, type RopeScaling } from "./layers/rope.ts";
import { SwitchGLU } from "./layers/switch.ts";
import { yarnMscale, yarnOptions, yarnRope } from "./layers/yarn.ts";
import { type Config, opt, optBool, req } from "./config.ts";
import { LlamaBlock } from "./llama.ts";
import { type Block, DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";

type Version = "v2" | "v3";

function mlaFor(ws: Weights, c: Config, path: string, version: Version): MlaAttention {
  const nope = req(c, "qk_nope_head_dim");
  const ropeDim = req(c, "qk_rope_head_dim");
  const scaling = (c.rope_scaling ?? null) as RopeScaling;
  const yarn = yarnOptions(scaling);
  let scale = (nope + ropeDim) ** -0.5;
  if (scaling && yarn.mscaleAllDim) {
    const m = yarnMscale(yarn.factor, yarn.mscaleAllDim);
    scale = scale * m * m;
  }
  const theta = opt(c, "rope_theta", 10000);
  const maxPos = typeof c.max_position_embeddings === "number" ? c.max_position_embeddings : undefined;
  const type = scaling ? String(scaling.type ?? scaling.rope_type ?? "default") : "default";
  // V2's rotary embedding is yarn whatever rope_scaling's type says (DeepseekV2YarnRotaryEmbedding)
  const rope = version === "v2" || type === "yarn" || type === "deepseek_yarn"
    ? yarnRope(ropeDim, theta, true, yarn)
    : initializeRope(ropeDim, theta, true, scaling, maxPos);
  const qLoraRank = c.q_lora_rank;
  const q: MlaParts["q"] = typeof qLoraRank === "number"
    ? { a: Linear.load(ws, `${path}.q_a_proj`), norm: RMSNorm.load(ws, `${path}.q_a_layernorm`, 1e-6), b: Linear.load(ws, `${path}.q_b_proj`) }
    : { proj: Linear.load(ws, `${path}.q_proj`) };
  const heads = req(c, "num_attention_heads");
  const vHeadDim = req(c, "v_head_dim");
  let kv: MlaParts["kv"];
  if (version === "v2") kv = { kvB: Linear.load(ws, `${path}.kv_b_proj`) };
  else if (ws.has(`${path}.kv_b_proj.weight`)) kv = absorbKvB(ws, path, heads, nope, vHeadDim);
  else kv = { embedQ: MultiLinear.load(ws, `${path}.embed_q`), unembedOut: MultiLinear.load(ws, `${path}.unembed_out`) };
  return new MlaAttention(
    { nHeads: heads, qkNopeHeadDim: nope, qkRopeHeadDim: ropeDim, vHeadDim, kvLoraRank: req(c, "kv_lora_rank"), scale },
    {
      q,
      kvA: Linear.load(ws, `${path}.kv_a_proj_with_mqa`),
      kvANorm: RMSNorm.load(ws, `${path}.kv_a_layernorm`, 1e-6),
      kv,
      o: Linear.load(ws, `${path}.o_proj`),
      rope,
    },
  );
}

/** The gate config.json describes (V2: softmax, greedy or group-limited; V3: sigmoid noaux_tc). */
export function deepseekGate(c: Config, version: Version): DeepseekGate {
  const common = {
    topK: req(c, "num_experts_per_tok"),
    routedScalingFactor: opt(c, "routed_scaling_factor", 1),
    nGroup: opt(c, "n_group", 1),
    topkGroup: opt(c, "topk_group", 1),
  };
  if (version === "v2") return { kind: "softmax", groupLimited: c.topk_method === "group_limited_greedy", ...common };
  if ((c.topk_method ?? "noaux_tc") !== "noaux_tc") throw new Error(`deepseek_v3: unsupported topk_method "${String(c.topk_method)}"`);
  return { kind: "sigmoid", normTopkProb: optBool(c, "norm_topk_prob", true), ...common };
}

/** Layer i's feed-forward: experts from first_k_dense_replace on (every moe_layer_freq-th), a dense SwiGLU before. */
export function deepseekMlp(ws: Weights, c: Config, i: number, gate: DeepseekGate, freq = opt(c, "moe_layer_freq", 1)): GatedMLP | DeepseekMoE {
  const p = `model.layers.${i}.mlp`;
  const sparse = typeof c.n_routed_experts === "number" && i >= opt(c, "first_k_dense_replace", 0) && i % freq === 0;
  if (!sparse) return GatedMLP.load(ws, p);
  const shared = typeof c.n_shared_experts === "number" ? GatedMLP.load(ws, `${p}.shared_experts`) : null;
  return DeepseekMoE.load(ws, p, gate, SwitchGLU.load(ws, `${p}.switch_mlp`), shared);
}

function buildDeepseek(c: Config, ws: Weights, version: Version): DecoderLM {
  const eps = opt(c, "rms_norm_eps", 1e-6);
  const gate = deepseekGate(c, version);
  const blocks: Block[] = [];
  for (let i = 0; i < req(c, "num_hidden_layers"); i++) {
    const p = `model.layers.${i}`;
    blocks.push(
      new LlamaBlock(
        false,
        mlaFor(ws, c, `${p}.self_attn`, version),
        deepseekMlp(ws, c, i, gate),
        RMSNorm.load(ws, `${p}.input_layernorm`, eps),
        RMSNorm.load(ws, `${p}.post_attention_layernorm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType: `deepseek_${version}`,
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.load(ws, "model.norm", eps),
    // mlx-lm's DeepSeek models always have their own lm_head
    lmHead: loadHead(ws, { tie_word_embeddings: false }, false),
    makeCache: () => blocks.map(() => new KVCache()),
  });
}

export const buildDeepseekV2 = (c: Config, ws: Weights): DecoderLM => buildDeepseek(c, ws, "v2");
export const buildDeepseekV3 = (c: Config, ws: Weights): DecoderLM => buildDeepseek(c, ws, "v3");
