// Granite (3.x): llama with four multipliers: embeddings × embedding_multiplier, attention scaled by
// attention_multiplier (not 1/sqrt(head_dim)), each residual branch × residual_multiplier, logits / logits_scaling.
import { add, divide, multiply, type MxArray } from "../ffi/index.ts";
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

const GRANITE: LlamaFlavor = { ...LLAMA, headDimFromConfig: false, attentionScale: (c) => req(c, "attention_multiplier") };

class GraniteBlock implements Block {
  readonly sliding = false;

  constructor(
    private readonly attn: Attention,
    private readonly mlp: GatedMLP,
    private readonly inputNorm: RMSNorm,
    private readonly postAttnNorm: RMSNorm,
    private readonly residualScale: number,
  ) {}

  forward(x: MxArray, kv: LayerKV): MxArray {
    const h = add(x, multiply(this.attn.forward(this.inputNorm.forward(x), kv), this.residualScale));
    return add(h, multiply(this.mlp.forward(this.postAttnNorm.forward(h)), this.residualScale));
  }

  [Symbol.dispose](): void {
    disposeAll(this.attn, this.mlp, this.inputNorm, this.postAttnNorm);
  }
}

export function buildGranite(c: Config, ws: Weights): DecoderLM {
  const eps = req(c, "rms_norm_eps");
  const residualScale = req(c, "residual_multiplier");
  const logitsScaling = req(c, "logits_scaling");
  const blocks: Block[] = [];
  for (let i = 0; i < req(c, "num_hidden_layers"); i++) {
    const p = `model.layers.${i}`;
    ws.drop(`${p}.self_attn.rotary_emb.inv_freq`);
    blocks.push(
      new GraniteBlock(
        attentionFor(ws, c, `${p}.self_attn`, GRANITE, i),
        GatedMLP.load(ws, `${p}.mlp`),
        RMSNorm.load(ws, `${p}.input_layernorm`, eps),
        RMSNorm.load(ws, `${p}.post_attention_layernorm`, eps),
        residualScale,
      ),
    );
  }
  return new DecoderLM({
    modelType: "granite",
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.load(ws, "model.norm", eps),
    lmHead: loadHead(ws, c, true),
    embedScale: req(c, "embedding_multiplier"),
    finalLogits: (logits) => divide(logits, logitsScaling),
    makeCache: () => blocks.map(() => new KVCache()),
  });
}
