// gpt-oss (OpenAI): pre-norm blocks with biased q/k/v/o projections and a learned sink logit per head; layers
// alternate sliding-window and full attention (config layer_types); every MLP is a mixture of experts whose
// router picks the top-k logits, weighted by a softmax over those k alone, and whose experts are biased,
// clamped SwiGLU (swigluOai). mlx-lm's models/gpt_oss.py; checkpoints arrive sanitized (gate/up split).
import { add, argpartition, clip, expandDims, minimum, multiply, sigmoid, slice, softmax, sum, takeAlongAxis, type MxArray } from "../ffi/index.ts";
import { Attention } from "./layers/attention.ts";
import { KVCache, RotatingKVCache } from "./layers/kv-cache.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { RMSNorm } from "./layers/norm.ts";
import { initializeRope, type RopeScaling } from "./layers/rope.ts";
import { SwitchGLU } from "./layers/switch.ts";
import { type Config, opt, req } from "./config.ts";
import { LlamaBlock } from "./llama.ts";
import { type Block, DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

const ALPHA = 1.702;
const LIMIT = 7.0;

/** mlx-lm's swiglu_oai: the gate clipped from above only, the linear part clipped both ways and shifted by one. */
export function swigluOai(gate: MxArray, up: MxArray): MxArray {
  const g = minimum(gate, LIMIT);
  const x = clip(up, -LIMIT, LIMIT);
  return multiply(add(x, 1.0), multiply(g, sigmoid(multiply(g, ALPHA))));
}

class GptOssMoe implements Disposable {
  constructor(
    private readonly router: Linear,
    private readonly experts: SwitchGLU,
    private readonly topK: number,
  ) {}

  forward(x: MxArray): MxArray {
    const g = this.router.forward(x);
    const k = this.topK;
    const E = g.shape[g.ndim - 1]!;
    const part = argpartition(g, E - k, -1);
    const start = g.shape.map(() => 0);
    start[start.length - 1] = E - k;
    const inds = slice(part, start, part.shape);
    const weights = softmax(takeAlongAxis(g, inds, -1), [-1], true);
    const y = this.experts.forward(x, inds);
    return sum(multiply(y, expandDims(weights, [-1])), [-2]);
  }

  [Symbol.dispose](): void {
    disposeAll(this.router, this.experts);
  }
}

function attention(ws: Weights, c: Config, path: string): Attention {
  const headDim = opt(c, "head_dim", 64);
  const { o, ...proj } = Attention.loadProjections(ws, path);
  return new Attention(
    { nHeads: req(c, "num_attention_heads"), nKvHeads: req(c, "num_key_value_heads"), headDim, scale: 1 / Math.sqrt(headDim) },
    {
      proj,
      o,
      rope: initializeRope(headDim, opt(c, "rope_theta", 150000), false, c.rope_scaling as RopeScaling, undefined),
      sinks: ws.take(`${path}.sinks`),
    },
  );
}

export function buildGptOss(c: Config, ws: Weights): DecoderLM {
  const nLayers = req(c, "num_hidden_layers");
  const eps = opt(c, "rms_norm_eps", 1e-5);
  const window = opt(c, "sliding_window", 128);
  const layerTypes = Array.isArray(c.layer_types)
    ? (c.layer_types as string[])
    : Array.from({ length: nLayers }, (_, i) => (i % 2 === 0 ? "sliding_attention" : "full_attention"));
  const blocks: Block[] = [];
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}`;
    const moe = new GptOssMoe(Linear.load(ws, `${p}.mlp.router`), SwitchGLU.load(ws, `${p}.mlp.experts`, swigluOai), opt(c, "num_experts_per_tok", 4));
    blocks.push(
      new LlamaBlock(
        layerTypes[i] === "sliding_attention",
        attention(ws, c, `${p}.self_attn`),
        moe,
        RMSNorm.load(ws, `${p}.input_layernorm`, eps),
        RMSNorm.load(ws, `${p}.post_attention_layernorm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType: "gpt_oss",
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.load(ws, "model.norm", eps),
    lmHead: loadHead(ws, c, false),
    slidingWindow: window,
    makeCache: () => blocks.map((b) => (b.sliding ? new RotatingKVCache(window) : new KVCache())),
  });
}
