// A LoRA adapter's tensors for the model's Linear layers (layers/linear.ts): `<path>.lora_a` [in, r] and
// `<path>.lora_b` [r, out] in float32, as mlx-lm's LoRALinear keeps them, whatever layout they were saved in.
import { astype, eval as evalArrays, loadSafetensors, transpose, type MxArray } from "../ffi/index.ts";
import type { AdapterSpec } from "../formats/adapter.ts";

export interface LoadedAdapter {
  tensors: Map<string, MxArray>;
  scale: number;
}

export function loadAdapter(spec: AdapterSpec): LoadedAdapter {
  const { tensors: stored } = loadSafetensors(spec.weights);
  const tensors = new Map<string, MxArray>();
  try {
    for (const [path, m] of spec.modules) {
      const a = stored.get(m.a)!;
      const b = stored.get(m.b)!;
      // PEFT keeps A as [r, in] and B as [out, r], the transposes of mlx-lm's
      const [ia, ib] = spec.format === "peft" ? [transpose(a, [1, 0]), transpose(b, [1, 0])] : [a, b];
      tensors.set(`${path}.lora_a`, astype(ia, "float32"));
      tensors.set(`${path}.lora_b`, astype(ib, "float32"));
      if (spec.format === "peft") for (const t of [ia, ib]) t.free();
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
