// Yarn RoPE with its periods computed by MLX in float32, op for op as mlx-lm computes them (rope_utils.YarnRoPE,
// deepseek_v2.DeepseekV2YarnRotaryEmbedding): base^(2i/d), the ramp between the correction dims, the blend. Computed
// in float64 and rounded once, some periods differ from mlx-lm's in the last bit, and the float32 logits with them.
import { arange, clip, divide, multiply, persist, power, scope, subtract, add } from "../../ffi/index.ts";
import { Rope } from "./rope.ts";

export interface YarnOptions {
  factor: number;
  originalMaxPositionEmbeddings: number;
  betaFast: number;
  betaSlow: number;
  mscale: number;
  mscaleAllDim: number;
}

/** 0.1·m·ln(s) + 1, or 1 without scaling */
export function yarnMscale(scale: number, m: number): number {
  return scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1;
}

/** yarn's options from a rope_scaling block, with mlx-lm's defaults */
export function yarnOptions(cfg: Record<string, unknown> | null | undefined): YarnOptions {
  const n = (key: string, fallback: number) => (typeof cfg?.[key] === "number" ? (cfg[key] as number) : fallback);
  return {
    factor: n("factor", 1),
    originalMaxPositionEmbeddings: n("original_max_position_embeddings", 4096),
    betaFast: n("beta_fast", 32),
    betaSlow: n("beta_slow", 1),
    mscale: n("mscale", 1),
    mscaleAllDim: n("mscale_all_dim", 0),
  };
}

export function yarnRope(dims: number, base: number, traditional: boolean, o: YarnOptions): Rope {
  const correctionDim = (rot: number) => (dims * Math.log(o.originalMaxPositionEmbeddings / (rot * 2 * Math.PI))) / (2 * Math.log(base));
  const low = Math.max(Math.floor(correctionDim(o.betaFast)), 0);
  let high = Math.min(Math.ceil(correctionDim(o.betaSlow)), dims - 1);
  if (low === high) high += 0.001;
  const freqs = scope(() => {
    const extra = power(base, divide(arange(0, dims, 2, "float32"), dims));
    const inter = multiply(extra, o.factor);
    const mask = subtract(1, clip(divide(subtract(arange(0, dims / 2, 1, "float32"), low), high - low), 0, 1));
    return divide(multiply(inter, extra), add(multiply(inter, mask), multiply(extra, subtract(1, mask))));
  });
  const mscale = yarnMscale(o.factor, o.mscale) / yarnMscale(o.factor, o.mscaleAllDim);
  return new Rope(dims, traditional, null, 1, persist(freqs), mscale);
}
