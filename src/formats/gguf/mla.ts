// MLA's kv_b_proj in the form our model wants. llama.cpp's converter splits it per head into attn_k_b (transposed:
// H × kv_lora_rank × nope) and attn_v_b (H × v_head_dim × kv_lora_rank); older files hold it whole (attn_kv_b,
// H·(nope + v) × kv_lora_rank). DeepSeek-V2 (mlx-lm's deepseek_v2.py) multiplies by the whole matrix, V3 by the two
// halves (embed_q, unembed_out: the split form as it is). A quantized half is dequantized: these are small.
import { concatenate, contiguous, dequantize, reshape, scope, slice, swapaxes, type MxArray } from "../../ffi/index.ts";
import type { Config } from "../../models/config.ts";

type QuantEntry = { group_size: number; bits: number; mode: string };

/** Takes `${path}.weight` out of `tensors` as a float matrix (dequantized if it was quantized). */
function takeFloat(tensors: Map<string, MxArray>, quant: Record<string, unknown>, path: string): MxArray {
  const w = tensors.get(`${path}.weight`)!;
  tensors.delete(`${path}.weight`);
  const q = quant[path] as QuantEntry | undefined;
  if (!q) return w;
  delete quant[path];
  const scales = tensors.get(`${path}.scales`)!;
  const biases = tensors.get(`${path}.biases`) ?? null;
  tensors.delete(`${path}.scales`);
  tensors.delete(`${path}.biases`);
  const out = scope(() => dequantize(w, scales, biases, { groupSize: q.group_size, bits: q.bits, dtype: "float32" }));
  for (const a of [w, scales, biases]) a?.free();
  return out;
}

export function reshapeMlaTensors(tensors: Map<string, MxArray>, quant: Record<string, unknown>, config: Config): void {
  const v2 = config.model_type === "deepseek_v2";
  if (!v2 && config.model_type !== "deepseek_v3") return;
  const H = Number(config.num_attention_heads);
  const nope = Number(config.qk_nope_head_dim);
  const vDim = Number(config.v_head_dim);
  for (let i = 0; i < Number(config.num_hidden_layers); i++) {
    const p = `model.layers.${i}.self_attn`;
    if (v2 && tensors.has(`${p}.embed_q.weight`)) {
      const kb = takeFloat(tensors, quant, `${p}.embed_q`);
      const vb = takeFloat(tensors, quant, `${p}.unembed_out`);
      const rank = vb.shape[2]!;
      tensors.set(`${p}.kv_b_proj.weight`, scope(() => contiguous(reshape(concatenate([swapaxes(kb, 1, 2), vb], 1), [H * (nope + vDim), rank]))));
      kb.free();
      vb.free();
    } else if (!v2 && tensors.has(`${p}.kv_b_proj.weight`)) {
      const kv = takeFloat(tensors, quant, `${p}.kv_b_proj`);
      const rank = kv.shape[1]!;
      const [wk, wv] = scope(() => {
        const heads = reshape(kv, [H, nope + vDim, rank]);
        return [
          contiguous(swapaxes(slice(heads, [0, 0, 0], [H, nope, rank]), 1, 2)),
          contiguous(slice(heads, [0, nope, 0], [H, nope + vDim, rank])),
        ];
      });
      tensors.set(`${p}.embed_q.weight`, wk!);
      tensors.set(`${p}.unembed_out.weight`, wv!);
      kv.free();
    }
  }
}
