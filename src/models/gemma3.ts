// Gemma 3 (text): four (1+w) RMSNorms per block, q/k norms, GeGLU (tanh gelu), embeddings × sqrt(hidden)
// rounded to bf16, sliding-window layers except every `sliding_window_pattern`-th, which is global. With
// use_bidirectional_attention (EmbeddingGemma) it is an encoder: decoder-embedder.ts runs it without the causal mask.
import { add, astype, clip, type MxArray } from "../ffi/index.ts";
import { Attention } from "./layers/attention.ts";
import { KVCache, RotatingKVCache } from "./layers/kv-cache.ts";
import type { LayerKV } from "./layers/batch-cache.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { RMSNorm } from "./layers/norm.ts";
import { initializeRope, type RopeScaling } from "./layers/rope.ts";
import { type Config, opt } from "./config.ts";
import { type Block, DecoderLM, roundToBf16 } from "./model.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

const F16_MAX = 65504;

/** In float16, residual sums are clipped to the representable range (computed in f32). */
function clipResidual(x: MxArray, y: MxArray): MxArray {
  if (x.dtype !== "float16") return add(x, y);
  return astype(clip(add(astype(x, "float32"), astype(y, "float32")), -F16_MAX, F16_MAX), "float16");
}

class Gemma3Block implements Block {
  constructor(
    readonly sliding: boolean,
    private readonly attn: Attention,
    private readonly mlp: GatedMLP,
    private readonly norms: { input: RMSNorm; postAttn: RMSNorm; preFfw: RMSNorm; postFfw: RMSNorm },
  ) {}

  forward(x: MxArray, kv: LayerKV): MxArray {
    const n = this.norms;
    const h = clipResidual(x, n.postAttn.forward(this.attn.forward(n.input.forward(x), kv)));
    return clipResidual(h, n.postFfw.forward(this.mlp.forward(n.preFfw.forward(h))));
  }

  [Symbol.dispose](): void {
    disposeAll(this.attn, this.mlp, Object.values(this.norms));
  }
}

export function buildGemma3(c: Config, ws: Weights): DecoderLM {
  const hidden = opt(c, "hidden_size", 1152);
  const nLayers = opt(c, "num_hidden_layers", 26);
  const nHeads = opt(c, "num_attention_heads", 4);
  const nKvHeads = opt(c, "num_key_value_heads", 1);
  const headDim = opt(c, "head_dim", 256);
  const eps = opt(c, "rms_norm_eps", 1e-6);
  const window = opt(c, "sliding_window", 512);
  const pattern = opt(c, "sliding_window_pattern", 6);
  const scale = opt(c, "query_pre_attn_scalar", 256) ** -0.5;
  const blocks: Block[] = [];
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}`;
    const sliding = (i + 1) % pattern !== 0;
    const rope = sliding
      ? initializeRope(headDim, opt(c, "rope_local_base_freq", 10000), false, null, undefined)
      : initializeRope(headDim, opt(c, "rope_theta", 1e6), false, c.rope_scaling as RopeScaling, opt(c, "max_position_embeddings", 32768));
    const { o, ...proj } = Attention.loadProjections(ws, `${p}.self_attn`);
    const attn = new Attention(
      { nHeads, nKvHeads, headDim, scale },
      {
        proj,
        o,
        rope,
        qNorm: RMSNorm.loadOffset(ws, `${p}.self_attn.q_norm`, eps),
        kNorm: RMSNorm.loadOffset(ws, `${p}.self_attn.k_norm`, eps),
      },
    );
    blocks.push(
      new Gemma3Block(sliding, attn, GatedMLP.load(ws, `${p}.mlp`, "gelu_approx"), {
        input: RMSNorm.loadOffset(ws, `${p}.input_layernorm`, eps),
        postAttn: RMSNorm.loadOffset(ws, `${p}.post_attention_layernorm`, eps),
        preFfw: RMSNorm.loadOffset(ws, `${p}.pre_feedforward_layernorm`, eps),
        postFfw: RMSNorm.loadOffset(ws, `${p}.post_feedforward_layernorm`, eps),
      }),
    );
  }
  // Tied unless the checkpoint carries its own lm_head.
  const lmHead = ws.has("lm_head.weight") ? Linear.load(ws, "lm_head") : null;
  return new DecoderLM({
    modelType: "gemma3_text",
    vocabSize: opt(c, "vocab_size", 262144),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.loadOffset(ws, "model.norm", eps),
    lmHead,
    slidingWindow: window,
    // mlx-lm rounds the scale to bf16 whatever the weights; EmbeddingGemma (bidirectional) runs as Hugging Face and
    // llama.cpp run it, with sqrt(hidden) in float32, and their vectors are its oracle.
    embedScale: c.use_bidirectional_attention === true ? Math.fround(Math.sqrt(hidden)) : roundToBf16(Math.sqrt(hidden)),
    makeCache: () => blocks.map((b) => (b.sliding ? new RotatingKVCache(window) : new KVCache())),
  });
}
