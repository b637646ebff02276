// Mixtral: llama attention; every layer's MLP is a sparse mixture of SwiGLU experts: each token goes to the top-k of
// the router's logits, weighted by a softmax over those k logits alone (unlike Qwen3-MoE's softmax over all).
import { argpartition, multiply, negative, expandDims, slice, softmax, sum, takeAlongAxis, type MxArray } from "../ffi/index.ts";
import { KVCache } from "./layers/kv-cache.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { RMSNorm } from "./layers/norm.ts";
import { SwitchGLU } from "./layers/switch.ts";
import { type Config, opt, req } from "./config.ts";
import { attentionFor, LLAMA, LlamaBlock, type LlamaFlavor } from "./llama.ts";
import { type Block, DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

const MIXTRAL: LlamaFlavor = { ...LLAMA, ropeThetaDefault: 1e6, tieDefault: false, headDimFromConfig: false };

class MixtralMoe implements Disposable {
  constructor(
    private readonly router: Linear,
    private readonly experts: SwitchGLU,
    private readonly topK: number,
  ) {}

  forward(x: MxArray): MxArray {
    const gates = this.router.forward(x);
    const part = argpartition(negative(gates), this.topK - 1, -1);
    const stop = [...part.shape];
    stop[stop.length - 1] = this.topK;
    const inds = slice(part, part.shape.map(() => 0), stop);
    const scores = softmax(takeAlongAxis(gates, inds, -1), [-1], true);
    const y = this.experts.forward(x, inds);
    return sum(multiply(y, expandDims(scores, [-1])), [-2]);
  }

  [Symbol.dispose](): void {
    disposeAll(this.router, this.experts);
  }
}

export function buildMixtral(c: Config, ws: Weights): DecoderLM {
  const eps = opt(c, "rms_norm_eps", 1e-5);
  const topK = opt(c, "num_experts_per_tok", 2);
  const blocks: Block[] = [];
  for (let i = 0; i < req(c, "num_hidden_layers"); i++) {
    const p = `model.layers.${i}`;
    const moe = new MixtralMoe(Linear.load(ws, `${p}.block_sparse_moe.gate`), SwitchGLU.load(ws, `${p}.block_sparse_moe.switch_mlp`), topK);
    blocks.push(
      new LlamaBlock(
        false,
        attentionFor(ws, { ...c, rms_norm_eps: eps }, `${p}.self_attn`, MIXTRAL, i),
        moe,
        RMSNorm.load(ws, `${p}.input_layernorm`, eps),
        RMSNorm.load(ws, `${p}.post_attention_layernorm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType: "mixtral",
    vocabSize: opt(c, "vocab_size", 32000),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.load(ws, "model.norm", eps),
    lmHead: loadHead(ws, c, false),
    makeCache: () => blocks.map(() => new KVCache()),
  });
}
