// Qwen3-MoE: Qwen3 attention; sparse layers route each token to its top-k experts
// (softmax over router logits, optional renormalisation of the k scores).
import {
  argpartition,
  astype,
  divide,
  expandDims,
  multiply,
  slice,
  softmax,
  sum,
  takeAlongAxis,
  type MxArray,
} from "../ffi/index.ts";
import { Linear } from "./layers/linear.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { RMSNorm } from "./layers/norm.ts";
import { SwitchGLU } from "./layers/switch.ts";
import { KVCache } from "./layers/kv-cache.ts";
import { Embedding } from "./layers/linear.ts";
import { type Config, opt, optBool, req } from "./config.ts";
import { LlamaBlock, QWEN3, attentionFor } from "./llama.ts";
import { type Block, DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

export class SparseMoe implements Disposable {
  constructor(
    private readonly router: Linear,
    private readonly experts: SwitchGLU,
    private readonly topK: number,
    private readonly normTopK: boolean,
  ) {}

  forward(x: MxArray): MxArray {
    const gates = softmax(this.router.forward(x), [-1], true);
    const E = gates.shape[gates.ndim - 1]!;
    const k = this.topK;
    const part = argpartition(gates, E - k, -1);
    const start = gates.shape.map(() => 0);
    start[start.length - 1] = E - k;
    const inds = slice(part, start, part.shape);
    let scores = takeAlongAxis(gates, inds, -1);
    if (this.normTopK) scores = divide(scores, sum(scores, [-1], true));
    const y = this.experts.forward(x, inds);
    return astype(sum(multiply(y, expandDims(scores, [-1])), [-2]), y.dtype);
  }

  [Symbol.dispose](): void {
    disposeAll(this.router, this.experts);
  }
}

export function buildQwen3Moe(c: Config, ws: Weights): DecoderLM {
  const nLayers = req(c, "num_hidden_layers");
  const eps = req(c, "rms_norm_eps");
  const numExperts = req(c, "num_experts");
  const sparseStep = opt(c, "decoder_sparse_step", 1);
  const mlpOnly = new Set(Array.isArray(c.mlp_only_layers) ? (c.mlp_only_layers as number[]) : []);
  const blocks: Block[] = [];
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}`;
    const sparse = !mlpOnly.has(i) && numExperts > 0 && (i + 1) % sparseStep === 0;
    const mlp = sparse
      ? new SparseMoe(Linear.load(ws, `${p}.mlp.gate`), SwitchGLU.load(ws, `${p}.mlp.switch_mlp`), req(c, "num_experts_per_tok"), optBool(c, "norm_topk_prob", false))
      : GatedMLP.load(ws, `${p}.mlp`);
    blocks.push(
      new LlamaBlock(
        false,
        attentionFor(ws, c, `${p}.self_attn`, QWEN3),
        mlp,
        RMSNorm.load(ws, `${p}.input_layernorm`, eps),
        RMSNorm.load(ws, `${p}.post_attention_layernorm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType: "qwen3_moe",
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.load(ws, "model.norm", eps),
    lmHead: loadHead(ws, c, false),
    makeCache: () => blocks.map(() => new KVCache()),
  });
}
