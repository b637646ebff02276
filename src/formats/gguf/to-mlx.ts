// A GGUF file → named MLX arrays (HF names) + config.json + quantization overrides, ready for models/load.ts.
import { array, concatenate, eval as evalArrays, fromBytes, ggufRepack, quantize, reshape, type MxArray } from "../../ffi/index.ts";
import type { Config } from "../../models/config.ts";
import { readGguf, readTensorBytes, GgufError, type GgufFile } from "./file.ts";
import { configFromGguf, hfModulePath } from "./hf-names.ts";
import { repack, widenTo8Bits, type Repacked } from "./repack.ts";
import { reshapeMlaTensors } from "./mla.ts";

export interface GgufWeights {
  file: GgufFile;
  config: Config;
  tensors: Map<string, MxArray>;
}

/** Gemma's RMSNorm scales by (1 + w); llama.cpp's converter stores 1 + w, our model adds the 1 itself. */
function isGemmaNorm(modelType: string, path: string): boolean {
  return (modelType === "gemma3_text" || modelType === "gemma2") && /norm$/.test(path);
}

const GC_EVERY = 128 << 20;

// Rows requantized per pass: about 32 MiB of float32 at a time whatever the tensor's size.
const REQUANT_FLOATS = 8 << 20;

/** MLX's affine quantization of a requantize tensor, from float32 rows made a block at a time, as (rows, …) arrays. */
function requantizeRows(r: Extract<Repacked, { kind: "requantize" }>): { wq: MxArray; scales: MxArray; biases: MxArray } {
  const step = Math.max(1, Math.floor(REQUANT_FLOATS / r.cols));
  // One buffer for every pass: MLX copies it, and the garbage collector is not waited for.
  const buffer = new Float32Array(Math.min(step, r.rows) * r.cols);
  const parts: { wq: MxArray; scales: MxArray; biases: MxArray }[] = [];
  try {
    for (let r0 = 0; r0 < r.rows; r0 += step) {
      const r1 = Math.min(r.rows, r0 + step);
      using values = array(r.values(r0, r1, buffer), [r1 - r0, r.cols], "float32");
      const q = quantize(values, { groupSize: 32, bits: r.bits });
      evalArrays(q.wq, q.scales, q.biases!);
      parts.push({ wq: q.wq, scales: q.scales, biases: q.biases! });
    }
    if (parts.length === 1) return parts.pop()!;
    const joined = { wq: concatenate(parts.map((p) => p.wq)), scales: concatenate(parts.map((p) => p.scales)), biases: concatenate(parts.map((p) => p.biases)) };
    evalArrays(joined.wq, joined.scales, joined.biases);
    return joined;
  } finally {
    for (const p of parts) for (const a of [p.wq, p.scales, p.biases]) a.free();
  }
}

export interface GgufLoadOptions {
  /**
   * Store 5-bit weights (Q5_0, Q5_1, Q5_K) as 8-bit values, tensor by tensor as they are read: the CPU
   * kernels read 4 and 8 bits, and models/load.ts widens other widths anyway, but after the whole model is loaded,
   * when each widened copy (and its bytes in JS) joins every other tensor (Gemma 3's load peaked ~45 MB higher).
   */
  widen?: boolean;
}

/** MLX's packed words of an affine tensor with `bits` bits: as they are, or (widen) 8 bits a value. */
function packedWords(words: Uint32Array, bits: number, widen: boolean): { bytes: Uint8Array; bits: number } {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  return widen && bits !== 4 && bits !== 8 ? { bytes: widenTo8Bits(bytes, bits), bits: 8 } : { bytes, bits };
}

export function loadGgufWeights(path: string, opts: GgufLoadOptions = {}): GgufWeights {
  const file = readGguf(path);
  const config = configFromGguf(file.metadata);
  const modelType = String(config.model_type);
  const tensors = new Map<string, MxArray>();
  const quant: Record<string, unknown> = { group_size: 32, bits: 4, mode: "affine" };
  let garbage = 0;
  try {
    for (const t of file.tensors) {
      const target = hfModulePath(t.name, modelType);
      if (!target) continue;
      // Each tensor's bytes and repacked arrays are garbage once MLX has copied them; left to the collector they
      // made the peak about 2.7x the loaded model (Gemma 3: 1.1 GB for 0.4 GB), so collect every 128 MiB read
      // (measured: Gemma's load 4.7-5.1 s against 4.5 s without; Bun.gc(false), which does not wait, collected
      // too late to lower SmolLM2's peak).
      if ((garbage += 2 * t.nbytes) > GC_EVERY) {
        Bun.gc(true);
        garbage = 0;
      }
      const r = repack(t, readTensorBytes(file, t), ggufRepack);
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
      if (r.kind === "mxfp4") {
        tensors.set(`${target.path}.weight`, fromBytes(new Uint8Array(r.weight.buffer), [...rows, cols / 8], "uint32"));
        tensors.set(`${target.path}.scales`, fromBytes(r.scales, [...rows, cols / 32], "uint8"));
        quant[target.path] = { group_size: 32, bits: 4, mode: "mxfp4" };
        continue;
      }
      let bits = r.bits;
      if (r.kind === "affine") {
        const w = packedWords(r.weight, r.bits, opts.widen === true);
        bits = w.bits;
        tensors.set(`${target.path}.weight`, fromBytes(w.bytes, [...rows, (cols * bits) / 32], "uint32"));
        tensors.set(`${target.path}.scales`, fromBytes(r.scales, [...rows, cols / 32], "float32"));
        tensors.set(`${target.path}.biases`, fromBytes(r.biases, [...rows, cols / 32], "float32"));
      } else {
        // 16-element sub-blocks: requantized by MLX itself (affine, group 32, to 4 or 8 bits), a block of rows at a time.
        const q = requantizeRows(r);
        tensors.set(`${target.path}.weight`, reshape(q.wq, [...rows, (cols * bits) / 32]));
        tensors.set(`${target.path}.scales`, reshape(q.scales, [...rows, cols / 32]));
        tensors.set(`${target.path}.biases`, reshape(q.biases, [...rows, cols / 32]));
        for (const a of [q.wq, q.scales, q.biases]) a.free();
      }
      // llama.cpp rounds the input of these products to int8 blocks: so do the CPU kernels (OLLMLX_CPU_ACTIVATIONS)
      quant[target.path] = { group_size: 32, bits, mode: "affine", activations: "int8" };
    }
  } catch (e) {
    for (const t of tensors.values()) t.free();
    throw e;
  }
  reshapeMlaTensors(tensors, quant, config);
  config.quantization = quant;
  // A GGUF without output.weight ties the head to the embeddings.
  config.tie_word_embeddings = !tensors.has("lm_head.weight");
  return { file, config, tensors };
}
