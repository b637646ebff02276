// Gemma 2: Gemma's (1+w) RMSNorms before and after both attention and MLP, GeGLU (tanh gelu), embeddings × sqrt(hidden),
// attention logits and final logits soft-capped (cap · tanh(x / cap)), query_pre_attn_scalar for the attention scale.
// The checkpoints alternate sliding-window and global layers, but mlx-lm's gemma2.py attends over the whole context
// in every layer (one KVCache each, one causal mask): so do we, token for token with it.
import { add, type MxArray } from "../ffi/index.ts";
import { Attention } from "./layers/attention.ts";
import { KVCache } from "./layers/kv-cache.ts";
import type { LayerKV } from "./layers/batch-cache.ts";
import { Embedding } from "./layers/linear.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { RMSNorm } from "./layers/norm.ts";
import { initializeRope } from "./layers/rope.ts";
import { softcap } from "./layers/softcap.ts";
import { type Config, opt, optBool, req } from "./config.ts";
import { type Block, DecoderLM } from "./model.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

class Gemma2Block implements Block {
  readonly sliding = false;

  constructor(
    private readonly attn: Attention,
    private readonly mlp: GatedMLP,
    private readonly norms: { input: RMSNorm; postAttn: RMSNorm; preFfw: RMSNorm; postFfw: RMSNorm },
  ) {}

  forward(x: MxArray, kv: LayerKV): MxArray {
    const n = this.norms;
    const h = add(x, n.postAttn.forward(this.attn.forward(n.input.forward(x), kv)));
    return add(h, n.postFfw.forward(this.mlp.forward(n.preFfw.forward(h))));
  }

  [Symbol.dispose](): void {
    disposeAll(this.attn, this.mlp, Object.values(this.norms));
  }
}

export function buildGemma2(c: Config, ws: Weights): DecoderLM {
  const hidden = req(c, "hidden_size");
  const nHeads = req(c, "num_attention_heads");
  const nKvHeads = req(c, "num_key_value_heads");
  const headDim = req(c, "head_dim");
  const eps = req(c, "rms_norm_eps");
  const scale = 1 / Math.sqrt(opt(c, "query_pre_attn_scalar", 144));
  const attnCap = opt(c, "attn_logit_softcapping", 50);
  const finalCap = opt(c, "final_logit_softcapping", 30);
  const blocks: Block[] = [];
  for (let i = 0; i < req(c, "num_hidden_layers"); i++) {
    const p = `model.layers.${i}`;
    const { o, ...proj } = Attention.loadProjections(ws, `${p}.self_attn`);
    const rope = initializeRope(headDim, opt(c, "rope_theta", 10000), optBool(c, "rope_traditional", false), null, undefined);
    const attn = new Attention({ nHeads, nKvHeads, headDim, scale, softcap: attnCap }, { proj, o, rope });
    blocks.push(
      new Gemma2Block(attn, GatedMLP.load(ws, `${p}.mlp`, "gelu_approx"), {
        input: RMSNorm.loadOffset(ws, `${p}.input_layernorm`, eps),
        postAttn: RMSNorm.loadOffset(ws, `${p}.post_attention_layernorm`, eps),
        preFfw: RMSNorm.loadOffset(ws, `${p}.pre_feedforward_layernorm`, eps),
        postFfw: RMSNorm.loadOffset(ws, `${p}.post_feedforward_layernorm`, eps),
      }),
    );
  }
  return new DecoderLM({
    modelType: "gemma2",
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.loadOffset(ws, "model.norm", eps),
    lmHead: null, // always tied
    embedScale: Math.sqrt(hidden),
    finalLogits: (logits) => softcap(logits, finalCap),
    makeCache: () => blocks.map(() => new KVCache()),
  });
}
