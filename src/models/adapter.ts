// A LoRA adapter's tensors for the model's Linear layers (layers/linear.ts): `<path>.lora_a` [in, r] and
// `<path>.lora_b` [r, out] in float32, as mlx-lm's LoRALinear keeps them, whatever layout they were saved in.
import { array, astype, eval as evalArrays, loadSafetensors, multiply, transpose, type MxArray } from "../ffi/index.ts";
import type { AdapterSpec } from "../formats/adapter.ts";
import { readGguf, readTensorBytes } from "../formats/gguf/file.ts";
import { dequantize, mlxShape } from "../formats/gguf/repack.ts";

export interface LoadedAdapter {
  tensors: Map<string, MxArray>;
  scale: number;
}

/** A GGUF adapter's tensors by name, as float32 in their row-major (MLX) shapes, whatever ggml type they are in. */
function ggufTensors(path: string): Map<string, MxArray> {
  const file = readGguf(path);
  const out = new Map<string, MxArray>();
  for (const t of file.tensors) out.set(t.name, array(dequantize(t, readTensorBytes(file, t)), mlxShape(t), "float32"));
  return out;
}

export function loadAdapter(spec: AdapterSpec): LoadedAdapter {
  const stored = spec.format === "gguf" ? ggufTensors(spec.weights) : loadSafetensors(spec.weights).tensors;
  // PEFT and llama.cpp keep A as [r, in] and B as [out, r], the transposes of mlx-lm's
  const transposed = spec.format !== "mlx-lm";
  const tensors = new Map<string, MxArray>();
  try {
    for (const [path, m] of spec.modules) {
      const a = stored.get(m.a)!;
      const b = stored.get(m.b)!;
      const [ia, ib] = transposed ? [transpose(a, [1, 0]), transpose(b, [1, 0])] : [a, b];
      tensors.set(`${path}.lora_a`, astype(ia, "float32"));
      // a module with a scale of its own (a GGUF one of another rank): the layers apply one, the rest is in B
      if (m.scale === undefined) tensors.set(`${path}.lora_b`, astype(ib, "float32"));
      else {
        using f32 = astype(ib, "float32");
        tensors.set(`${path}.lora_b`, multiply(f32, m.scale / spec.scale));
      }
      if (transposed) for (const t of [ia, ib]) t.free();
    }
    evalArrays(...tensors.values());
  } catch (e) {
    for (const t of tensors.values()) t.free();
    throw e;
  } finally {
    for (const t of stored.values()) t.free();
  }
  return { tensors, scale: spec.scale };
}
