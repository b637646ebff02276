// Llama (and SmolLM2, Mistral, Qwen2): pre-norm blocks x + attn(norm(x)), h + mlp(norm(h)); SwiGLU; GQA.
// Qwen2 is this with q/k/v biases (present in its weights) and rope_theta 1e6.
import { add, type MxArray } from "../ffi/index.ts";
import { Attention } from "./layers/attention.ts";
import { KVCache, RotatingKVCache } from "./layers/kv-cache.ts";
import type { LayerKV } from "./layers/batch-cache.ts";
import { Embedding } from "./layers/linear.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { type Norm, RMSNorm } from "./layers/norm.ts";
import { initializeRope, type RopeScaling } from "./layers/rope.ts";
import type { QueryScale } from "./layers/query-scale.ts";
import { type Config, opt, optBool, req } from "./config.ts";
import { type Block, DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

export class LlamaBlock implements Block {
  constructor(
    readonly sliding: boolean,
    private readonly attn: { forward(x: MxArray, kv: LayerKV): MxArray } & Disposable,
    private readonly mlp: { forward(x: MxArray): MxArray } & Disposable,
    private readonly inputNorm: Norm,
    private readonly postAttnNorm: Norm,
  ) {}

  forward(x: MxArray, kv: LayerKV): MxArray {
    const h = add(x, this.attn.forward(this.inputNorm.forward(x), kv));
    return add(h, this.mlp.forward(this.postAttnNorm.forward(h)));
  }

  [Symbol.dispose](): void {
    disposeAll(this.attn, this.mlp, this.inputNorm, this.postAttnNorm);
  }
}

export interface LlamaFlavor {
  ropeThetaDefault: number;
  tieDefault: boolean;
  /** qwen2 ignores config.head_dim */
  headDimFromConfig: boolean;
  /** q/k RMSNorms: per head (Qwen 3) or over the whole projection (OLMo 2) */
  qkNorm: false | "head" | "projection";
  fusedProjections: boolean;
  /** SmolLM3: the layers whose attention has no position embedding (NoPE) */
  noRope?: (c: Config, layer: number) => boolean;
  /** Granite: attention_multiplier instead of 1/sqrt(head_dim) */
  attentionScale?: (c: Config) => number;
  /** Ministral 3: queries scaled by position */
  queryScale?: (c: Config) => QueryScale;
}

export const LLAMA: LlamaFlavor = { ropeThetaDefault: 10000, tieDefault: true, headDimFromConfig: true, qkNorm: false, fusedProjections: false };
export const QWEN2: LlamaFlavor = { ...LLAMA, ropeThetaDefault: 1e6, headDimFromConfig: false };
export const QWEN3: LlamaFlavor = { ...LLAMA, ropeThetaDefault: 1e6, qkNorm: "head" };
export const PHI3: LlamaFlavor = { ...LLAMA, tieDefault: false, headDimFromConfig: false, fusedProjections: true };

export function attentionFor(ws: Weights, c: Config, path: string, flavor: LlamaFlavor, layer = 0): Attention {
  const hidden = req(c, "hidden_size");
  const nHeads = req(c, "num_attention_heads");
  const nKvHeads = opt(c, "num_key_value_heads", nHeads);
  const headDim = flavor.headDimFromConfig ? opt(c, "head_dim", hidden / nHeads) : hidden / nHeads;
  const eps = req(c, "rms_norm_eps");
  const ropeDims = Math.floor(headDim * opt(c, "partial_rotary_factor", 1));
  const rope = flavor.noRope?.(c, layer) ? null : initializeRope(
    ropeDims,
    opt(c, "rope_theta", flavor.ropeThetaDefault),
    optBool(c, "rope_traditional", false),
    c.rope_scaling as RopeScaling,
    typeof c.max_position_embeddings === "number" ? c.max_position_embeddings : undefined,
  );
  const { o, ...proj } = Attention.loadProjections(ws, path, flavor.fusedProjections);
  return new Attention(
    { nHeads, nKvHeads, headDim, scale: flavor.attentionScale?.(c) ?? headDim ** -0.5 },
    {
      proj,
      o,
      rope,
      qNorm: flavor.qkNorm ? RMSNorm.load(ws, `${path}.q_norm`, eps) : undefined,
      kNorm: flavor.qkNorm ? RMSNorm.load(ws, `${path}.k_norm`, eps) : undefined,
      qkNormAcrossHeads: flavor.qkNorm === "projection",
      queryScale: flavor.queryScale?.(c),
    },
  );
}

export function buildLlama(c: Config, ws: Weights, flavor: LlamaFlavor = LLAMA, modelType = String(c.model_type)): DecoderLM {
  const nLayers = req(c, "num_hidden_layers");
  const eps = req(c, "rms_norm_eps");
  const layerTypes = Array.isArray(c.layer_types) ? (c.layer_types as string[]) : null;
  const slidingWindow = typeof c.sliding_window === "number" ? c.sliding_window : undefined;
  const blocks: Block[] = [];
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}`;
    ws.drop(`${p}.self_attn.rotary_emb.inv_freq`);
    blocks.push(
      new LlamaBlock(
        layerTypes?.[i] === "sliding_attention",
        attentionFor(ws, c, `${p}.self_attn`, flavor, i),
        GatedMLP.load(ws, `${p}.mlp`, "silu", flavor.fusedProjections),
        RMSNorm.load(ws, `${p}.input_layernorm`, eps),
        RMSNorm.load(ws, `${p}.post_attention_layernorm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType,
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.load(ws, "model.norm", eps),
    lmHead: loadHead(ws, c, flavor.tieDefault),
    slidingWindow,
    makeCache: () => blocks.map((b) => (b.sliding && slidingWindow ? new RotatingKVCache(slidingWindow) : new KVCache())),
  });
}
