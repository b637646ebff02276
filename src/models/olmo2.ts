// OLMo 2: llama's attention and SwiGLU with the norms moved after them (x + norm(attn(x)), h + norm(mlp(h)), no
// input norms), and q/k RMSNorms over the whole projection, before the heads are split.
import { add, type MxArray } from "../ffi/index.ts";
import type { Attention } from "./layers/attention.ts";
import { KVCache } from "./layers/kv-cache.ts";
import type { LayerKV } from "./layers/batch-cache.ts";
import { Embedding } from "./layers/linear.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { RMSNorm } from "./layers/norm.ts";
import { type Config, req } from "./config.ts";
import { attentionFor, LLAMA, type LlamaFlavor } from "./llama.ts";
import { type Block, DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

const OLMO2: LlamaFlavor = { ...LLAMA, qkNorm: "projection" };

class Olmo2Block implements Block {
  readonly sliding = false;

  constructor(
    private readonly attn: Attention,
    private readonly mlp: GatedMLP,
    private readonly postAttnNorm: RMSNorm,
    private readonly postFfwNorm: RMSNorm,
  ) {}

  forward(x: MxArray, kv: LayerKV): MxArray {
    const h = add(x, this.postAttnNorm.forward(this.attn.forward(x, kv)));
    return add(h, this.postFfwNorm.forward(this.mlp.forward(h)));
  }

  [Symbol.dispose](): void {
    disposeAll(this.attn, this.mlp, this.postAttnNorm, this.postFfwNorm);
  }
}

export function buildOlmo2(c: Config, ws: Weights): DecoderLM {
  const eps = req(c, "rms_norm_eps");
  const blocks: Block[] = [];
  for (let i = 0; i < req(c, "num_hidden_layers"); i++) {
    const p = `model.layers.${i}`;
    blocks.push(
      new Olmo2Block(
        attentionFor(ws, c, `${p}.self_attn`, OLMO2, i),
        GatedMLP.load(ws, `${p}.mlp`),
        RMSNorm.load(ws, `${p}.post_attention_layernorm`, eps),
        RMSNorm.load(ws, `${p}.post_feedforward_layernorm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType: "olmo2",
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.load(ws, "model.norm", eps),
    lmHead: loadHead(ws, c, true),
    makeCache: () => blocks.map(() => new KVCache()),
  });
}
