// StarCoder2: llama's pre-norm block with LayerNorms (weight and bias), biases on every attention projection, an
// ungated gelu MLP (c_fc, c_proj), head_dim = hidden / heads. As mlx-lm's starcoder2.py, sliding_window is not read:
// every layer attends to the whole context.
import { Attention } from "./layers/attention.ts";
import { KVCache } from "./layers/kv-cache.ts";
import { Embedding } from "./layers/linear.ts";
import { GeluMLP } from "./layers/mlp.ts";
import { LayerNorm } from "./layers/norm.ts";
import { initializeRope } from "./layers/rope.ts";
import { type Config, opt, req } from "./config.ts";
import { LlamaBlock } from "./llama.ts";
import { type Block, DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";

export function buildStarcoder2(c: Config, ws: Weights): DecoderLM {
  const nHeads = req(c, "num_attention_heads");
  const nKvHeads = req(c, "num_key_value_heads");
  const headDim = req(c, "hidden_size") / nHeads;
  const eps = opt(c, "norm_epsilon", 1e-5);
  const blocks: Block[] = [];
  for (let i = 0; i < req(c, "num_hidden_layers"); i++) {
    const p = `model.layers.${i}`;
    const { o, ...proj } = Attention.loadProjections(ws, `${p}.self_attn`);
    const rope = initializeRope(headDim, opt(c, "rope_theta", 100000), false, null, undefined);
    blocks.push(
      new LlamaBlock(
        false,
        new Attention({ nHeads, nKvHeads, headDim, scale: headDim ** -0.5 }, { proj, o, rope }),
        GeluMLP.load(ws, `${p}.mlp`),
        LayerNorm.load(ws, `${p}.input_layernorm`, eps),
        LayerNorm.load(ws, `${p}.post_attention_layernorm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType: "starcoder2",
    vocabSize: opt(c, "vocab_size", 49152),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: LayerNorm.load(ws, "model.norm", eps),
    lmHead: loadHead(ws, c, true),
    makeCache: () => blocks.map(() => new KVCache()),
  });
}
