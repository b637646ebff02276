// GLM-4.5 / 4.6 (mlx-lm's glm4_moe.py): llama's blocks with GQA attention (q/k/v biases, optional per-head q/k
// RMSNorms, RoPE on the first partial_rotary_factor of each head, never scaled) and, from first_k_dense_replace on,
// DeepSeek-V3's MoE: a sigmoid "noaux_tc" gate over routed experts beside shared ones.
import { KVCache } from "./layers/kv-cache.ts";
import { Embedding } from "./layers/linear.ts";
import { RMSNorm } from "./layers/norm.ts";
import { type Config, req } from "./config.ts";
import { deepseekGate, deepseekMlp } from "./deepseek.ts";
import { attentionFor, LLAMA, LlamaBlock, type LlamaFlavor } from "./llama.ts";
import { type Block, DecoderLM, loadHead } from "./model.ts";
import type { Weights } from "./weights.ts";

export function buildGlm4Moe(c: Config, ws: Weights): DecoderLM {
  const eps = req(c, "rms_norm_eps");
  // a GGUF does not say: its q/k norm tensors do
  const qkNorm = typeof c.use_qk_norm === "boolean" ? c.use_qk_norm : ws.has("model.layers.0.self_attn.q_norm.weight");
  const flavor: LlamaFlavor = { ...LLAMA, qkNorm: qkNorm ? "head" : false };
  // nn.RoPE with rope_theta: glm4_moe.py reads no rope_scaling
  const attnConfig = { ...c, rope_scaling: null, rope_traditional: false };
  const gate = deepseekGate(c, "v3");
  const blocks: Block[] = [];
  for (let i = 0; i < req(c, "num_hidden_layers"); i++) {
    const p = `model.layers.${i}`;
    blocks.push(
      new LlamaBlock(
        false,
        attentionFor(ws, attnConfig, `${p}.self_attn`, flavor, i),
        deepseekMlp(ws, c, i, gate, 1),
        RMSNorm.load(ws, `${p}.input_layernorm`, eps),
        RMSNorm.load(ws, `${p}.post_attention_layernorm`, eps),
      ),
    );
  }
  return new DecoderLM({
    modelType: "glm4_moe",
    vocabSize: req(c, "vocab_size"),
    embed: Embedding.load(ws, "model.embed_tokens"),
    blocks,
    norm: RMSNorm.load(ws, "model.norm", eps),
    // glm4_moe.py always has its own lm_head (tie_word_embeddings is read but unused)
    lmHead: loadHead(ws, { tie_word_embeddings: false }, false),
    makeCache: () => blocks.map(() => new KVCache()),
  });
}

