// Gemma 4 (text): Gemma's four norms per block (plain RMSNorm weights, not 1 + w), GeGLU, embeddings × sqrt(hidden),
// final logits soft-capped; sliding and full layers (layer_types), the full ones with their own head size and a
// partial "proportional" RoPE; the last layers share earlier layers' keys and values (gemma4-attention.ts); the small
// models add a per-layer input to every block (an embedding of the token for each layer, mixed with a projection of
// the hidden state), the large ones a mixture of experts beside the MLP. Every block's output is scaled by its
// layer_scalar. mlx-lm's models/gemma4_text.py.
import { add, argpartition, expandDims, gegluApprox, geluApprox, multiply, reshape, rmsNorm, slice, softmax, squeeze, sum, take, takeAlongAxis, type MxArray } from "../ffi/index.ts";
import { Gemma4Attention, SharedKVCache } from "./gemma4-attention.ts";
import type { LayerKV } from "./layers/batch-cache.ts";
import { KVCache, RotatingKVCache, type LayerCache } from "./layers/kv-cache.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { RMSNorm } from "./layers/norm.ts";
import { initializeRope, type RopeScaling } from "./layers/rope.ts";
import { softcap } from "./layers/softcap.ts";
import { SwitchGLU } from "./layers/switch.ts";
import { type Config, opt, optBool, req } from "./config.ts";
import { type Block, DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

/** The per-layer inputs of this forward pass (B, L, layers, per-layer size), set by PerLayerEmbedding. */
interface PerLayer {
  inputs: MxArray | null;
}

/** The token embedding that also makes the per-layer inputs from the same ids (the 2B/4B models). */
class PerLayerEmbedding implements Disposable {
  constructor(
    private readonly embed: Embedding,
    private readonly perLayer: {
      table: Embedding;
      projection: Linear;
      norm: RMSNorm;
      layers: number;
      size: number;
      embedScale: number;
      hidden: number;
    } | null,
    private readonly ctx: PerLayer,
  ) {}

  forward(ids: MxArray): MxArray {
    const h = this.embed.forward(ids);
    const p = this.perLayer;
    if (!p) return h;
    const [B, L] = ids.shape as [number, number];
    const unflat = (x: MxArray) => reshape(x, [B, L, p.layers, p.size]);
    const tokens = unflat(multiply(p.table.forward(ids), Math.sqrt(p.size)));
    const projected = p.norm.forward(unflat(multiply(p.projection.forward(multiply(h, p.embedScale)), p.hidden ** -0.5)));
    this.ctx.inputs = multiply(add(projected, tokens), 2 ** -0.5);
    return h;
  }

  asLinear(h: MxArray): MxArray {
    return this.embed.asLinear(h);
  }

  [Symbol.dispose](): void {
    disposeAll(this.embed, this.perLayer?.table, this.perLayer?.projection, this.perLayer?.norm);
  }
}

/** The 26B's experts: router (scaled RMSNorm, top-k of the logits, softmax over those k, × a per-expert scale). */
class Gemma4Moe implements Disposable {
  constructor(
    private readonly router: { proj: Linear; scale: MxArray; perExpertScale: MxArray; topK: number; eps: number; rootSize: number },
    private readonly experts: SwitchGLU,
  ) {}

  /** x: the router's input (the residual stream), h: the experts' (pre-normed) input */
  forward(x: MxArray, h: MxArray): MxArray {
    const r = this.router;
    const scores = r.proj.forward(rmsNorm(x, multiply(r.scale, r.rootSize), r.eps));
    const E = scores.shape[scores.ndim - 1]!;
    const part = argpartition(scores, E - r.topK, -1);
    const start = scores.shape.map(() => 0);
    start[start.length - 1] = E - r.topK;
    const inds = slice(part, start, part.shape);
    const weights = multiply(softmax(takeAlongAxis(scores, inds, -1), [-1]), take(r.perExpertScale, inds, 0));
    return sum(multiply(expandDims(weights, [-1]), this.experts.forward(h, inds)), [-2]);
  }

  [Symbol.dispose](): void {
    disposeAll(this.router.proj, this.router.scale, this.router.perExpertScale, this.experts);
  }
}

interface Gemma4Norms {
  input: RMSNorm;
  postAttn: RMSNorm;
  preFfw: RMSNorm;
  postFfw: RMSNorm;
  /** with experts: after the MLP, after the experts, before the experts */
  moe?: { postMlp: RMSNorm; postExperts: RMSNorm; preExperts: RMSNorm };
  perLayer?: RMSNorm;
}

class Gemma4Block implements Block {
  constructor(
    readonly sliding: boolean,
    private readonly index: number,
    private readonly attn: Gemma4Attention,
    private readonly mlp: GatedMLP,
    private readonly moe: Gemma4Moe | null,
    private readonly perLayer: { gate: Linear; projection: Linear; ctx: PerLayer } | null,
    private readonly norms: Gemma4Norms,
    private readonly layerScalar: MxArray,
  ) {}

  forward(x: MxArray, kv: LayerKV): MxArray {
    const n = this.norms;
    let h = add(x, n.postAttn.forward(this.attn.forward(n.input.forward(x), kv)));
    const residual = h;
    let f: MxArray;
    if (this.moe && n.moe) {
      const dense = n.moe.postMlp.forward(this.mlp.forward(n.preFfw.forward(h)));
      const sparse = n.moe.postExperts.forward(this.moe.forward(h, n.moe.preExperts.forward(h)));
      f = add(dense, sparse);
    } else f = this.mlp.forward(n.preFfw.forward(h));
    h = add(residual, n.postFfw.forward(f));
    const p = this.perLayer;
    if (p && p.ctx.inputs && n.perLayer) {
      const all = p.ctx.inputs;
      const s = all.shape;
      const mine = squeeze(slice(all, [0, 0, this.index, 0], [s[0]!, s[1]!, this.index + 1, s[3]!]), [2]);
      h = add(h, n.perLayer.forward(p.projection.forward(multiply(geluApprox(p.gate.forward(h)), mine))));
    }
    return multiply(h, this.layerScalar);
  }

  [Symbol.dispose](): void {
    const n = this.norms;
    disposeAll(this.attn, this.mlp, this.moe, this.perLayer?.gate, this.perLayer?.projection, this.layerScalar);
    disposeAll(n.input, n.postAttn, n.preFfw, n.postFfw, n.perLayer, n.moe?.postMlp, n.moe?.postExperts, n.moe?.preExperts);
  }
}

const DEFAULT_ROPE: Record<string, Record<string, unknown>> = {
  full_attention: { partial_rotary_factor: 0.25, rope_theta: 1e6, rope_type: "proportional" },
  sliding_attention: { partial_rotary_factor: 1.0, rope_theta: 1e4, rope_type: "default" },
};

export function buildGemma4(c: Config, ws: Weights): DecoderLM {
  const hidden = req(c, "hidden_size");
  const nLayers = req(c, "num_hidden_layers");
  const eps = opt(c, "rms_norm_eps", 1e-6);
  const window = opt(c, "sliding_window", 512);
  const pattern = opt(c, "sliding_window_pattern", 5);
  const layerTypes = Array.isArray(c.layer_types)
    ? (c.layer_types as string[])
    : Array.from({ length: nLayers }, (_, i) => ((i + 1) % pattern === 0 ? "full_attention" : "sliding_attention"));
  const ropeParams = (c.rope_parameters as Record<string, Record<string, unknown>> | undefined) ?? DEFAULT_ROPE;
  const firstShared = nLayers - opt(c, "num_kv_shared_layers", 0);
  const kEqV = optBool(c, "attention_k_eq_v", false);
  const perLayerSize = opt(c, "hidden_size_per_layer_input", 0);
  const ctx: PerLayer = { inputs: null };
  // the last KV-owning layer of each type, which the shared layers of that type attend with
  const owners = new Map<string, Gemma4Attention>();
  const blocks: Block[] = [];
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}`;
    const type = layerTypes[i]!;
    const full = type === "full_attention";
    const headDim = full && typeof c.global_head_dim === "number" && c.global_head_dim ? c.global_head_dim : opt(c, "head_dim", 256);
    const nKvHeads = full && kEqV && typeof c.num_global_key_value_heads === "number" ? c.num_global_key_value_heads : opt(c, "num_key_value_heads", 1);
    const rp = ropeParams[type] ?? {};
    const rope = initializeRope(headDim, typeof rp.rope_theta === "number" ? rp.rope_theta : 10000, optBool(c, "rope_traditional", false), rp as RopeScaling, opt(c, "max_position_embeddings", 131072));
    const a = `${p}.self_attn`;
    const hasKv = i < firstShared;
    const attn = new Gemma4Attention(
      { nHeads: req(c, "num_attention_heads"), nKvHeads, headDim, eps },
      {
        q: Linear.load(ws, `${a}.q_proj`),
        o: Linear.load(ws, `${a}.o_proj`),
        qNorm: RMSNorm.load(ws, `${a}.q_norm`, eps),
        kv: hasKv
          ? { k: Linear.load(ws, `${a}.k_proj`), v: kEqV && full ? null : Linear.load(ws, `${a}.v_proj`), kNorm: RMSNorm.load(ws, `${a}.k_norm`, eps) }
          : null,
      },
      rope,
      hasKv ? null : owners.get(type)!,
    );
    if (hasKv) owners.set(type, attn);
    const moe = optBool(c, "enable_moe_block", false)
      ? new Gemma4Moe(
          {
            proj: Linear.load(ws, `${p}.router.proj`),
            scale: ws.take(`${p}.router.scale`),
            perExpertScale: ws.take(`${p}.router.per_expert_scale`),
            topK: req(c, "top_k_experts"),
            eps,
            rootSize: hidden ** -0.5,
          },
          SwitchGLU.load(ws, `${p}.experts.switch_glu`, gegluApprox),
        )
      : null;
    const norm = (name: string) => RMSNorm.load(ws, `${p}.${name}`, eps);
    blocks.push(
      new Gemma4Block(
        !full,
        i,
        attn,
        GatedMLP.load(ws, `${p}.mlp`, "gelu_approx"),
        moe,
        perLayerSize ? { gate: Linear.load(ws, `${p}.per_layer_input_gate`), projection: Linear.load(ws, `${p}.per_layer_projection`), ctx } : null,
        {
          input: norm("input_layernorm"),
          postAttn: norm("post_attention_layernorm"),
          preFfw: norm("pre_feedforward_layernorm"),
          postFfw: norm("post_feedforward_layernorm"),
          moe: moe ? { postMlp: norm("post_feedforward_layernorm_1"), postExperts: norm("post_feedforward_layernorm_2"), preExperts: norm("pre_feedforward_layernorm_2") } : undefined,
          perLayer: perLayerSize ? norm("post_per_layer_input_norm") : undefined,
        },
        ws.take(`${p}.layer_scalar`),
      ),
    );
  }
  const embedScale = Math.sqrt(hidden);
  const embed = new PerLayerEmbedding(
    Embedding.load(ws, "model.embed_tokens"),
    perLayerSize
      ? {
          table: Embedding.load(ws, "model.embed_tokens_per_layer"),
          projection: Linear.load(ws, "model.per_layer_model_projection"),
          norm: RMSNorm.load(ws, "model.per_layer_projection_norm", eps),
          layers: nLayers,
          size: perLayerSize,
          embedScale,
          hidden,
        }
      : null,
    ctx,
  );
  const cap = typeof c.final_logit_softcapping === "number" ? c.final_logit_softcapping : null;
  return new DecoderLM({
    modelType: "gemma4_text",
    vocabSize: req(c, "vocab_size"),
    embed,
    blocks,
    norm: RMSNorm.load(ws, "model.norm", eps),
    lmHead: loadHead(ws, c, true),
    finalLogits: cap === null ? undefined : (logits) => softcap(logits, cap),
    slidingWindow: window,
    embedScale,
    sharesAcrossBlocks: firstShared < blocks.length,
    makeCache: () =>
      blocks.map((b, i): LayerCache => (i >= firstShared ? new SharedKVCache() : b.sliding ? new RotatingKVCache(window) : new KVCache())),
  });
}
