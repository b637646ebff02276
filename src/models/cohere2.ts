// Command R7B (cohere2): one LayerNorm (no bias) feeds attention and a SwiGLU MLP side by side, x + attn + mlp;
// every `sliding_window_pattern`-th layer is global with no position embedding (NoPE), the others attend within
// `sliding_window` with (traditional) RoPE; tied embeddings, logits × logit_scale.
import { add, multiply, type MxArray } from "../ffi/index.ts";
import { Attention } from "./layers/attention.ts";
import { KVCache, RotatingKVCache } from "./layers/kv-cache.ts";
import type { LayerKV } from "./layers/batch-cache.ts";
import { Embedding } from "./layers/linear.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { LayerNorm } from "./layers/norm.ts";
import { initializeRope } from "./layers/rope.ts";
import { type Config, opt } from "./config.ts";
import { type Block, DecoderLM } from "./model.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

class Cohere2Block implements Block {
  constructor(
    readonly sliding: boolean,
    private readonly attn: Attention,
    private readonly mlp: GatedMLP,
    private readonly norm: LayerNorm,
  ) {}

  forward(x: MxArray, kv: LayerKV): MxArray {
    const h = this.norm.forward(x);
    return add(add(this.attn.forward(h, kv), this.mlp.forward(h)), x);
  }

  [Symbol.dispose](): void {
    disposeAll(this.attn, this.mlp, this.norm);
  }
}

export function buildCohere2(c: Config, ws: Weights): DecoderLM {
  const nHeads = opt(c, "num_attention_heads", 32);
  const nKvHeads = opt(c, "num_key_value_heads", 8);
  const headDim = opt(c, "head_dim", 128);
  const eps = opt(c, "layer_norm_eps", 1e-5);
  const window = opt(c, "sliding_window", 4096);
  const pattern = opt(c, "sliding_window_pattern", 4);
  const logitScale = opt(c, "logit_scale", 0.0625);
  const blocks: Block[] = [];
  for (let i = 0; i < opt(c, "num_hidden_layers", 32); i++) {
    const p = `model.layers.${i}`;
    const sliding = (i + 1) % pattern !== 0;
    const { o, ...proj } = Attention.loadProjections(ws, `${p}.self_attn`);
    const rope = sliding ? initializeRope(headDim, opt(c, "rope_theta", 50000), true, null, undefined) : null;
    blocks.push(
      new Cohere2Block(
        sliding,
        new Attention({ nHeads, nKvHeads, headDim, scale: headDim ** -0.5 }, { proj, o, rope }),
        GatedMLP.load(ws, `${p}.mlp`),
        LayerNorm.load(ws, `${p}.input_layernorm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType: "cohere2",
    vocabSize: opt(c, "vocab_size", 256000),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: LayerNorm.load(ws, "model.norm", eps),
    lmHead: null, // always tied
    slidingWindow: window,
    finalLogits: (logits) => multiply(logits, logitScale),
    makeCache: () => blocks.map((b) => (b.sliding ? new RotatingKVCache(window) : new KVCache())),
  });
}
