// A new adapter to train, as mlx-lm's linear_to_lora_layers makes one: every Linear (or the `keys` named) of the last `numLayers` blocks
// (the 2-D weights under model.layers.N, dense or quantized; norms and MoE experts are not Linears), A uniform in
// ±1/√in of [in, r], B zeros of [r, out], in float32. Shapes come from the safetensors headers and config.json,
// before the model is built, so the adapter's tensors go in with its weights (models/load.ts).
import { eval as evalArrays, persist, random, zeros, type MxArray } from "../ffi/index.ts";
import { safetensorsHeader } from "../formats/adapter.ts";
import type { Config } from "../models/config.ts";
import type { LoadedAdapter } from "../models/adapter.ts";
import { weightFiles } from "../models/load.ts";

export interface LoraShape {
  rank: number;
  scale: number;
  /** the last N blocks; -1: all of them */
  numLayers: number;
  seed: number;
}

/** The tensor shapes of a model directory, from its safetensors headers (nothing is read into memory). */
export function dirShapes(dir: string): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const file of weightFiles(dir)) for (const [name, t] of safetensorsHeader(file)) shapes.set(name, t.shape);
  return shapes;
}

/**
 * The Linears to adapt, from the model's tensor shapes (HF names): module path → [in, out]. `keys` (mlx-lm's
 * lora_parameters.keys): only these modules of each block, named within it ("self_attn.q_proj"); default all.
 */
export function loraTargets(
  shapes: ReadonlyMap<string, readonly number[]>,
  config: Config,
  numLayers: number,
  keys?: readonly string[],
): Map<string, [number, number]> {
  const wanted = keys ? new Set(keys) : null;
  const text = (config.text_config ?? config) as Config;
  const blocks = Number(text.num_hidden_layers);
  const first = numLayers < 0 ? 0 : Math.max(0, blocks - numLayers);
  const quant = (config.quantization ?? {}) as Record<string, unknown>;
  const targets = new Map<string, [number, number]>();
  for (const [name, shape] of [...shapes].sort(([a], [b]) => a.localeCompare(b))) {
    const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(name);
    if (!m || Number(m[1]) < first || shape.length !== 2 || (wanted && !wanted.has(m[2]!))) continue;
    const path = name.slice(0, -".weight".length);
    const override = quant[path] as { bits?: number } | undefined;
    const bits = shapes.has(`${path}.scales`) ? Number(override?.bits ?? quant.bits ?? 4) : 32;
    targets.set(path, [(shape[1]! * 32) / bits, shape[0]!]);
  }
  return targets;
}

export function freshAdapter(targets: ReadonlyMap<string, [number, number]>, o: LoraShape): LoadedAdapter {
  const tensors = new Map<string, MxArray>();
  let key = persist(random.key(o.seed));
  for (const [path, [inFeatures, outFeatures]] of targets) {
    const [next, sub] = random.splitKeys(key);
    key.free();
    key = persist(next!);
    const bound = 1 / Math.sqrt(inFeatures);
    tensors.set(`${path}.lora_a`, persist(random.uniform([inFeatures, o.rank], { low: -bound, high: bound, key: sub })));
    tensors.set(`${path}.lora_b`, persist(zeros([o.rank, outFeatures], "float32")));
    sub!.free();
  }
  key.free();
  evalArrays(...tensors.values());
  return { tensors, scale: o.scale };
}
