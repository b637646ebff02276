// The tensors of a model on their way into modules: each module takes what it owns, and whatever is left
// at the end is freed (and reported, since an unused tensor usually means a misnamed one).
import type { Lora } from "./layers/linear.ts";
import type { MxArray } from "../ffi/index.ts";

export type QuantMode = "affine" | "mxfp4" | "mxfp8" | "nvfp4";

export interface QuantParams {
  groupSize: number;
  bits: number;
  mode: QuantMode;
  /** "int8": the CPU kernels round this layer's input to int8 as llama.cpp does (our GGUF loader's key; ffi's QuantOptions) */
  activations?: "int8";
}

/** config.json's "quantization" block (or its "quantization_config" alias): defaults plus per-path overrides. */
export interface QuantConfig {
  defaults: QuantParams;
  overrides: Map<string, QuantParams | false>;
}

const MODE_DEFAULTS: Record<QuantMode, { groupSize: number; bits: number }> = {
  affine: { groupSize: 64, bits: 4 },
  mxfp4: { groupSize: 32, bits: 4 },
  mxfp8: { groupSize: 32, bits: 8 },
  nvfp4: { groupSize: 16, bits: 4 },
};

function quantParams(raw: Record<string, unknown>): QuantParams {
  const mode = (raw.mode as QuantMode | undefined) ?? "affine";
  if (!(mode in MODE_DEFAULTS)) throw new Error(`unsupported quantization mode "${mode}"`);
  const d = MODE_DEFAULTS[mode];
  return {
    mode,
    groupSize: Number(raw.group_size ?? d.groupSize),
    bits: Number(raw.bits ?? d.bits),
    ...(raw.activations === "int8" ? { activations: "int8" as const } : {}),
  };
}

export function parseQuantConfig(config: Record<string, unknown>): QuantConfig | null {
  const text = config.text_config as Record<string, unknown> | undefined;
  const block = (config.quantization ?? config.quantization_config ?? text?.quantization ?? text?.quantization_config) as
    | Record<string, unknown>
    | undefined;
  if (!block || typeof block !== "object") return null;
  if (typeof block.quant_method === "string" && !["mlx", "affine"].includes(block.quant_method)) {
    throw new Error(`quantization method "${block.quant_method}" is not supported (mlx-community affine/fp modes are)`);
  }
  const defaults = quantParams(block);
  const overrides = new Map<string, QuantParams | false>();
  for (const [key, value] of Object.entries(block)) {
    if (value === false) overrides.set(key, false);
    else if (value === true) overrides.set(key, defaults);
    // mlx's nn.quantize hands a per-layer dict to to_quantized(**dict) alone: what it leaves out is that call's
    // default (mode "affine", the mode's group size and bits), not the top-level block's (gpt-oss's 8-bit router
    // in an mxfp4 model is affine)
    else if (value && typeof value === "object") overrides.set(key, quantParams(value as Record<string, unknown>));
  }
  return { defaults, overrides };
}

export class MissingWeightError extends Error {
  override name = "MissingWeightError";
}

export class Weights implements Disposable {
  constructor(
    private readonly tensors: Map<string, MxArray>,
    readonly quant: QuantConfig | null,
    /** a LoRA adapter's scale, when its `<path>.lora_a` / `.lora_b` tensors are among these (models/adapter.ts) */
    readonly loraScale = 0,
  ) {}

  /** The adapters the layers took, by module path: what training updates (train/lora.ts). */
  readonly loras = new Map<string, Lora>();

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Hands the tensor to its module: the module owns (and frees) it from now on. */
  take(name: string): MxArray {
    const t = this.tensors.get(name);
    if (!t) throw new MissingWeightError(`model weights have no tensor "${name}"`);
    this.tensors.delete(name);
    return t;
  }

  takeOptional(name: string): MxArray | null {
    return this.has(name) ? this.take(name) : null;
  }

  /** Drops a tensor the model does not use (e.g. rotary_emb.inv_freq, a tied lm_head). */
  drop(name: string): void {
    this.tensors.get(name)?.free();
    this.tensors.delete(name);
  }

  /** mlx-lm's rule: a per-path override wins; otherwise a layer is quantized iff `<path>.scales` exists. */
  quantFor(path: string): QuantParams | null {
    const o = this.quant?.overrides.get(path);
    if (o === false) return null;
    if (o) return o;
    if (this.has(`${path}.scales`)) {
      if (!this.quant) throw new Error(`"${path}" is quantized but config.json has no quantization block`);
      return this.quant.defaults;
    }
    return null;
  }

  remaining(): string[] {
    return [...this.tensors.keys()];
  }

  /** A tensor's shape, before a module takes it (what a loader checks to tell checkpoint layouts apart). */
  shapeOf(name: string): readonly number[] | undefined {
    return this.tensors.get(name)?.shape;
  }

  [Symbol.dispose](): void {
    for (const t of this.tensors.values()) t.free();
    this.tensors.clear();
  }
}
