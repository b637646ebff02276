// A GGUF file → named MLX arrays (HF names) + config.json + quantization overrides, ready for models/load.ts.
import { fromBytes, quantize, array, type MxArray } from "../../ffi/index.ts";
import type { Config } from "../../models/config.ts";
import { readGguf, readTensorBytes, GgufError, type GgufFile } from "./file.ts";
import { configFromGguf, hfModulePath } from "./hf-names.ts";
import { repack } from "./repack.ts";

export interface GgufWeights {
  file: GgufFile;
  config: Config;
  tensors: Map<string, MxArray>;
}

/** Gemma's RMSNorm scales by (1 + w); llama.cpp's converter stores 1 + w, our model adds the 1 itself. */
function isGemmaNorm(modelType: string, path: string): boolean {
  return modelType === "gemma3_text" && /norm$/.test(path);
}

export function loadGgufWeights(path: string): GgufWeights {
  const file = readGguf(path);
  const config = configFromGguf(file.metadata);
  const modelType = String(config.model_type);
  const tensors = new Map<string, MxArray>();
  const quant: Record<string, unknown> = { group_size: 32, bits: 4, mode: "affine" };
  try {
    for (const t of file.tensors) {
      const target = hfModulePath(t.name, modelType);
      if (!target) continue;
      const r = repack(t, readTensorBytes(file, t));
      const key = `${target.path}.${target.suffix}`;
      if (r.kind === "float") {
        if (isGemmaNorm(modelType, target.path)) {
          if (r.dtype !== "float32") throw new GgufError(`${t.name}: expected an F32 norm`);
          const w = new Float32Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength / 4).map((v) => v - 1);
          tensors.set(key, array(w, r.shape, "float32"));
        } else {
          tensors.set(key, fromBytes(r.bytes, r.shape, r.dtype));
        }
        continue;
      }
      if (target.suffix !== "weight") throw new GgufError(`${t.name}: a quantized bias is not supported`);
      const rows = r.shape.slice(0, -1);
      const cols = r.shape[r.shape.length - 1]!;
      if (r.kind === "affine") {
        tensors.set(`${target.path}.weight`, fromBytes(r.weight, [...rows, (cols * r.bits) / 32], "uint32"));
        tensors.set(`${target.path}.scales`, fromBytes(r.scales, [...rows, cols / 32], "float32"));
        tensors.set(`${target.path}.biases`, fromBytes(r.biases, [...rows, cols / 32], "float32"));
      } else {
        // 16-element sub-blocks: dequantized above, requantized by MLX itself (affine, group 32).
        using values = array(r.values, r.shape, "float32");
        const q = quantize(values, { groupSize: 32, bits: r.bits });
        tensors.set(`${target.path}.weight`, q.wq);
        tensors.set(`${target.path}.scales`, q.scales);
        tensors.set(`${target.path}.biases`, q.biases!);
      }
      quant[target.path] = { group_size: 32, bits: r.bits, mode: "affine" };
    }
  } catch (e) {
    for (const t of tensors.values()) t.free();
    throw e;
  }
  config.quantization = quant;
  // A GGUF without output.weight ties the head to the embeddings.
  config.tie_word_embeddings = !tensors.has("lm_head.weight");
  return { file, config, tensors };
}
