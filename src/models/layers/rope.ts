// Rotary position embeddings and the scaling variants of mlx-lm's rope_utils.initialize_rope.
// The scaled variants precompute `freqs` (periods, not frequencies: MLX uses 1/freqs) and call fast.rope
// with base = null.
import { add, arange, array, clip, concatenate, divide, full, multiply, power, rope, scope, subtract, type MxArray } from "../../ffi/index.ts";
import { disposeAll } from "../dispose.ts";

export type RopeScaling = Record<string, unknown> | null | undefined;

export class Rope implements Disposable {
  constructor(
    readonly dims: number,
    readonly traditional: boolean,
    private readonly base: number | null,
    private readonly scale: number,
    private readonly freqs: MxArray | null,
    /** yarn / longrope multiply q and k before rotating */
    private readonly inputScale = 1,
    /** dynamic NTK recomputes base from the sequence length */
    private readonly dynamic: { maxPos: number; factor: number } | null = null,
  ) {}

  /** Whether apply takes one offset per batch row (an int32 array (B,)): all but dynamic NTK, whose base depends on it. */
  get perRowOffsets(): boolean {
    return this.dynamic === null;
  }

  /** x (B, H, L, D); its first position is `offset`, or per row offset[b]. */
  apply(x: MxArray, offset: number | MxArray): MxArray {
    let base = this.base;
    if (this.dynamic && base !== null) {
      if (typeof offset !== "number") throw new Error("dynamic NTK rope needs one offset for the whole batch");
      const seqLen = Math.max(x.shape[x.ndim - 2]! + offset, this.dynamic.maxPos);
      const f = this.dynamic.factor;
      base = base * ((f * seqLen) / this.dynamic.maxPos - (f - 1)) ** (this.dims / (this.dims - 2));
    }
    const input = this.inputScale !== 1 ? scaleLeadingDims(x, this.dims, this.inputScale) : x;
    return rope(input, {
      dims: this.dims,
      traditional: this.traditional,
      base: this.freqs ? null : base,
      scale: this.scale,
      offset,
      freqs: this.freqs,
    });
  }

  [Symbol.dispose](): void {
    disposeAll(this.freqs);
  }
}

/** x.at[..., :dims].multiply(s): the rotated dims are scaled; when they are all of x, a plain multiply. */
function scaleLeadingDims(x: MxArray, dims: number, s: number): MxArray {
  if (x.shape[x.ndim - 1] !== dims) throw new Error("partial-dim rope input scaling is not supported");
  return multiply(x, s);
}

function basePeriods(dims: number, base: number): Float32Array {
  const out = new Float32Array(dims / 2);
  for (let i = 0; i < dims / 2; i++) out[i] = Math.pow(base, (2 * i) / dims);
  return out;
}

function num(cfg: Record<string, unknown>, key: string, fallback: number): number {
  const v = cfg[key];
  return typeof v === "number" ? v : fallback;
}

export function initializeRope(
  dims: number,
  base: number,
  traditional: boolean,
  scaling: RopeScaling,
  maxPositionEmbeddings: number | undefined,
): Rope {
  const type = scaling ? String(scaling.type ?? scaling.rope_type ?? "default") : "default";
  const cfg = scaling ?? {};
  switch (type) {
    case "default":
    case "mrope":
      return new Rope(dims, traditional, base, 1, null);
    case "linear":
      return new Rope(dims, traditional, base, 1 / num(cfg, "factor", 1), null);
    case "dynamic":
      return new Rope(dims, traditional, base, 1, null, 1, {
        maxPos: maxPositionEmbeddings ?? 2048,
        factor: num(cfg, "factor", 1),
      });
    case "llama3":
      return new Rope(dims, traditional, null, 1, array(llama3Periods(dims, base, cfg), [dims / 2], "float32"));
    case "yarn":
    case "deepseek_yarn":
    case "telechat3-yarn": {
      const { periods, mscale } = yarnPeriods(dims, base, cfg);
      return new Rope(dims, traditional, null, 1, array(periods, [dims / 2], "float32"), mscale);
    }
    case "proportional": {
      // Gemma 4's full layers: the first rotated dims get base^(2i/dims) (exponents over all dims, not the rotated
      // ones) times factor, the rest infinite periods (no rotation); in float32 MLX ops as mlx-lm's ProportionalRoPE
      const rotated = Math.floor(dims * num(cfg, "partial_rotary_factor", 1));
      const periods = scope(() => {
        const head = multiply(power(base, divide(arange(0, rotated, 2, "float32"), dims)), num(cfg, "factor", 1));
        return concatenate([head, full([(dims - rotated) / 2], Infinity, "float32")], 0).toFloat32();
      });
      return new Rope(dims, traditional, null, 1, array(periods, [dims / 2], "float32"));
    }
    case "longrope":
    case "su": {
      const { periods, mscale } = longropePeriods(dims, base, cfg, maxPositionEmbeddings ?? 131072);
      return new Rope(dims, false, null, 1, array(periods, [dims / 2], "float32"), mscale);
    }
    default:
      throw new Error(`unsupported rope scaling type "${type}"`);
  }
}

function llama3Periods(dims: number, base: number, cfg: Record<string, unknown>): Float32Array {
  const factor = num(cfg, "factor", 1);
  const low = num(cfg, "low_freq_factor", 1);
  const high = num(cfg, "high_freq_factor", 4);
  const oldLen = num(cfg, "original_max_position_embeddings", 8192);
  const lowWavelen = oldLen / low;
  const highWavelen = oldLen / high;
  const periods = basePeriods(dims, base);
  for (let i = 0; i < periods.length; i++) {
    const f0 = periods[i]!;
    const wavelen = 2 * Math.PI * f0;
    const f = wavelen > lowWavelen ? f0 * factor : f0;
    if (wavelen > highWavelen && wavelen < lowWavelen) {
      const smooth = (oldLen / wavelen - low) / (high - low);
      periods[i] = f / ((1 - smooth) / factor + smooth);
    } else periods[i] = f;
  }
  return periods;
}

function yarnPeriods(dims: number, base: number, cfg: Record<string, unknown>): { periods: Float32Array; mscale: number } {
  const factor = num(cfg, "factor", 1);
  const origMax = num(cfg, "original_max_position_embeddings", 4096);
  const betaFast = num(cfg, "beta_fast", 32);
  const betaSlow = num(cfg, "beta_slow", 1);
  const mscaleCfg = num(cfg, "mscale", 1);
  const mscaleAllDim = num(cfg, "mscale_all_dim", 0);
  const correctionDim = (rot: number) => (dims * Math.log(origMax / (rot * 2 * Math.PI))) / (2 * Math.log(base));
  const low = Math.max(Math.floor(correctionDim(betaFast)), 0);
  let high = Math.min(Math.ceil(correctionDim(betaSlow)), dims - 1);
  const getMscale = (s: number, m: number) => (s <= 1 ? 1 : 0.1 * m * Math.log(s) + 1);
  const mscale = getMscale(factor, mscaleCfg) / getMscale(factor, mscaleAllDim);
  if (low === high) high += 0.001;
  // In float32 MLX ops, as mlx-lm's YarnRoPE computes them: the same expression in float64 differs in the last bit
  // of some periods (gpt-oss's dims 16 / base 150000 / factor 32), and with it the rotated q and k.
  const periods = scope(() => {
    const extra = power(base, divide(arange(0, dims, 2, "float32"), dims));
    const inter = multiply(extra, factor);
    const mask = subtract(1.0, clip(divide(subtract(arange(0, dims / 2, 1, "float32"), low), high - low), 0, 1));
    return divide(multiply(inter, extra), add(multiply(inter, mask), multiply(extra, subtract(1, mask)))).toFloat32();
  });
  return { periods, mscale };
}

function longropePeriods(
  dims: number,
  base: number,
  cfg: Record<string, unknown>,
  maxPos: number,
): { periods: Float32Array; mscale: number } {
  const orig = num(cfg, "original_max_position_embeddings", 4096);
  const long = cfg.long_factor;
  const periods = basePeriods(dims, base);
  for (let i = 0; i < periods.length; i++) {
    const f = Array.isArray(long) ? Number(long[i]) : typeof long === "number" ? long : 1;
    periods[i] = f * periods[i]!;
  }
  const factor = maxPos / orig;
  const longMscale = typeof cfg.long_mscale === "number" ? cfg.long_mscale : 0;
  const mscale = longMscale || (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig)));
  return { periods, mscale };
}
