// Qwen3.5 (mlx-lm qwen3_5.py; qwen3_5_moe.py: the same with every MLP a sparse MoE plus a gated shared expert):
// pre-norm blocks whose mixer is gated delta-net linear attention in
// three layers of every full_attention_interval (4) and, in the last of them, GQA attention with per-head q/k
// RMSNorm, partial RoPE (a quarter of head_dim by default) and an output gate (q_proj gives [queries | gate] per
// head); SwiGLU MLP. Linear-attention layers keep a StateCache (conv window + delta state), attention a KVCache.
// Checkpoints wrap it (model_type qwen3_5, text_config, weights under language_model.): models/load.ts unwraps.
// A raw Hugging Face checkpoint (the conv as PyTorch's (C, 1, K)) stores its RMSNorm weights as scale - 1 and
// carries multi-token-prediction layers (mtp.*): as mlx-lm's sanitize does, the 1 is added back (not to the
// gated norm of the linear-attention layers) and mtp.* dropped.
import { add, multiply, sigmoid, type MxArray } from "../ffi/index.ts";
import { Attention } from "./layers/attention.ts";
import { GatedDeltaNet } from "./layers/gated-delta.ts";
import { HybridBlock } from "./layers/hybrid-block.ts";
import { KVCache } from "./layers/kv-cache.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { RMSNorm } from "./layers/norm.ts";
import { initializeRope, type RopeScaling } from "./layers/rope.ts";
import { type Config, opt, optBool, req } from "./config.ts";
import { DecoderLM, loadHead } from "./model.ts";
import { SparseMoe } from "./qwen3-moe.ts";
import { SwitchGLU } from "./layers/switch.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

/** rope_parameters' values, as mlx-lm's TextModelArgs reads them (its defaults: θ 1e5, a quarter of head_dim). */
function ropeParameters(c: Config): { theta: number; partial: number; scaling: RopeScaling } {
  const p = (c.rope_parameters ?? null) as Record<string, unknown> | null;
  if (!p) return { theta: opt(c, "rope_theta", 1e5), partial: opt(c, "partial_rotary_factor", 0.25), scaling: null };
  const theta = typeof p.rope_theta === "number" ? p.rope_theta : 1e5;
  const partial = typeof p.partial_rotary_factor === "number" ? p.partial_rotary_factor : 0.25;
  return { theta, partial, scaling: { ...p, type: p.type ?? p.rope_type } };
}

/** Qwen3-Next's sparse MoE block: the routed experts plus a shared expert scaled by sigmoid(shared_expert_gate(x)). */
class SharedExpertMoe implements Disposable {
  constructor(
    private readonly routed: SparseMoe,
    private readonly shared: GatedMLP,
    private readonly sharedGate: Linear,
  ) {}

  static load(ws: Weights, path: string, c: Config): SharedExpertMoe {
    const routed = new SparseMoe(Linear.load(ws, `${path}.gate`), SwitchGLU.load(ws, `${path}.switch_mlp`), req(c, "num_experts_per_tok"), optBool(c, "norm_topk_prob", true));
    return new SharedExpertMoe(routed, GatedMLP.load(ws, `${path}.shared_expert`), Linear.load(ws, `${path}.shared_expert_gate`));
  }

  forward(x: MxArray): MxArray {
    return add(this.routed.forward(x), multiply(sigmoid(this.sharedGate.forward(x)), this.shared.forward(x)));
  }

  [Symbol.dispose](): void {
    disposeAll(this.routed, this.shared, this.sharedGate);
  }
}

type NormLoader = (ws: Weights, path: string, eps: number) => RMSNorm;

function gatedAttention(ws: Weights, c: Config, path: string, loadNorm: NormLoader): Attention {
  const nHeads = req(c, "num_attention_heads");
  const headDim = opt(c, "head_dim", req(c, "hidden_size") / nHeads);
  const eps = opt(c, "rms_norm_eps", 1e-6);
  const { theta, partial, scaling } = ropeParameters(c);
  const maxPos = typeof c.max_position_embeddings === "number" ? c.max_position_embeddings : undefined;
  const { o, ...proj } = Attention.loadProjections(ws, path);
  return new Attention(
    { nHeads, nKvHeads: opt(c, "num_key_value_heads", 8), headDim, scale: headDim ** -0.5 },
    {
      proj,
      o,
      rope: initializeRope(Math.floor(headDim * partial), theta, false, scaling, maxPos),
      qNorm: loadNorm(ws, `${path}.q_norm`, eps),
      kNorm: loadNorm(ws, `${path}.k_norm`, eps),
      outputGate: true,
    },
  );
}

export function buildQwen3_5(c: Config, ws: Weights): DecoderLM {
  const eps = opt(c, "rms_norm_eps", 1e-6);
  const interval = opt(c, "full_attention_interval", 4);
  const linear = {
    numKHeads: opt(c, "linear_num_key_heads", 16),
    numVHeads: opt(c, "linear_num_value_heads", 64),
    headKDim: opt(c, "linear_key_head_dim", 192),
    headVDim: opt(c, "linear_value_head_dim", 128),
    eps,
    vHeadsTiled: c.linear_value_heads_tiled === true,
  };
  const layers = req(c, "num_hidden_layers");
  const conv = Array.from({ length: layers }, (_, i) => ws.shapeOf(`model.layers.${i}.linear_attn.conv1d.weight`)).find((s) => s);
  const raw = conv !== undefined && conv.length === 3 && conv[2] !== 1;
  const loadNorm: NormLoader = raw ? RMSNorm.loadOffset : RMSNorm.load;
  if (raw) for (const name of ws.remaining()) if (name.startsWith("mtp.")) ws.drop(name);
  const blocks: HybridBlock[] = [];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    const isAttention = (i + 1) % interval === 0;
    blocks.push(
      new HybridBlock(
        isAttention,
        isAttention ? gatedAttention(ws, c, `${p}.self_attn`, loadNorm) : GatedDeltaNet.load(ws, `${p}.linear_attn`, linear),
        opt(c, "num_experts", 0) > 0 ? SharedExpertMoe.load(ws, `${p}.mlp`, c) : GatedMLP.load(ws, `${p}.mlp`),
        loadNorm(ws, `${p}.input_layernorm`, eps),
        loadNorm(ws, `${p}.post_attention_layernorm`, eps),
      ),
    );
  }
  // llama.cpp's qwen35 counts its multi-token-prediction layer as one more block: not run here
  for (const name of ws.remaining()) if (Number(/^model\.layers\.(\d+)\./.exec(name)?.[1] ?? -1) >= layers) ws.drop(name);
  return new DecoderLM({
    modelType: String(c.model_type),
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: loadNorm(ws, "model.norm", eps),
    lmHead: loadHead(ws, { tie_word_embeddings: optBool(c, "tie_word_embeddings", false) }, false),
    makeCache: () => blocks.map((b) => (b.attention ? new KVCache() : GatedDeltaNet.makeCache())),
  });
}
