// LFM2 (Liquid): pre-norm blocks x + op(norm(x)), h + mlp(norm(h)), where op is a gated short convolution in most
// layers and GQA attention (q/k RMSNorm per head, RoPE) in the full_attention ones; SwiGLU feed-forward (w1 gate,
// w3 up, w2 down); the final norm is called embedding_norm; the head is always the tied embedding. Conv layers keep
// a recurrent state (StateCache), attention layers a KVCache.
import { Attention } from "./layers/attention.ts";
import { HybridBlock } from "./layers/hybrid-block.ts";
import { KVCache } from "./layers/kv-cache.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { GatedMLP } from "./layers/mlp.ts";
import { RMSNorm } from "./layers/norm.ts";
import { initializeRope, type RopeScaling } from "./layers/rope.ts";
import { ShortConv } from "./layers/short-conv.ts";
import { type Config, opt, req } from "./config.ts";
import { DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";

/** The full-attention layers: full_attn_idxs, or where layer_types says "full_attention". */
function attentionLayers(c: Config): Set<number> {
  if (Array.isArray(c.full_attn_idxs)) return new Set(c.full_attn_idxs as number[]);
  const types = Array.isArray(c.layer_types) ? (c.layer_types as string[]) : [];
  return new Set(types.flatMap((t, i) => (t === "full_attention" ? [i] : [])));
}

function lfm2Attention(ws: Weights, c: Config, path: string): Attention {
  const hidden = req(c, "hidden_size");
  const nHeads = req(c, "num_attention_heads");
  const headDim = hidden / nHeads;
  const eps = req(c, "norm_eps");
  const params = (c.rope_parameters ?? {}) as Record<string, unknown>;
  const theta = typeof params.rope_theta === "number" ? params.rope_theta : opt(c, "rope_theta", 1e6);
  const maxPos = typeof c.max_position_embeddings === "number" ? c.max_position_embeddings : undefined;
  return new Attention(
    { nHeads, nKvHeads: opt(c, "num_key_value_heads", nHeads), headDim, scale: headDim ** -0.5 },
    {
      proj: { q: Linear.load(ws, `${path}.q_proj`), k: Linear.load(ws, `${path}.k_proj`), v: Linear.load(ws, `${path}.v_proj`) },
      o: Linear.load(ws, `${path}.out_proj`),
      rope: initializeRope(headDim, theta, false, null as RopeScaling, maxPos),
      qNorm: RMSNorm.load(ws, `${path}.q_layernorm`, eps),
      kNorm: RMSNorm.load(ws, `${path}.k_layernorm`, eps),
    },
  );
}

export function buildLfm2(c: Config, ws: Weights): DecoderLM {
  const eps = req(c, "norm_eps");
  const attn = attentionLayers(c);
  const blocks: HybridBlock[] = [];
  for (let i = 0; i < req(c, "num_hidden_layers"); i++) {
    const p = `model.layers.${i}`;
    const isAttention = attn.has(i);
    blocks.push(
      new HybridBlock(
        isAttention,
        isAttention ? lfm2Attention(ws, c, `${p}.self_attn`) : ShortConv.load(ws, `${p}.conv`),
        GatedMLP.loadNamed(ws, `${p}.feed_forward`, { gate: "w1", up: "w3", down: "w2" }),
        RMSNorm.load(ws, `${p}.operator_norm`, eps),
        RMSNorm.load(ws, `${p}.ffn_norm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType: "lfm2",
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.load(ws, "model.embedding_norm", eps),
    lmHead: loadHead(ws, { tie_word_embeddings: true }, true), // mlx-lm's lfm2 always reads the head off the embedding
    makeCache: () => blocks.map((b) => (b.attention ? new KVCache() : ShortConv.makeCache())),
  });
}
