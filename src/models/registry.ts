// model_type → architecture module. mlx-lm remaps a few names onto shared files; so do we.
import type { Config } from "./config.ts";
import { buildCohere2 } from "./cohere2.ts";
import { buildGemma2 } from "./gemma2.ts";
import { buildGemma3 } from "./gemma3.ts";
import { buildGranite } from "./granite.ts";
import { buildLfm2 } from "./lfm2.ts";
import { buildLlama, LLAMA, PHI3, QWEN2, QWEN3 } from "./llama.ts";
import { buildMinistral3 } from "./ministral3.ts";
import { buildMixtral } from "./mixtral.ts";
import type { CausalLM } from "./model.ts";
import { Bert, XLM_ROBERTA } from "./bert.ts";
import { NomicBert } from "./nomic-bert.ts";
import { buildOlmo2 } from "./olmo2.ts";
import type { EncoderModel } from "./encoder.ts";
import { buildQwen3_5 } from "./qwen3-5.ts";
import { buildQwen3Moe } from "./qwen3-moe.ts";
import { buildSmolLM3 } from "./smollm3.ts";
import { buildStarcoder2 } from "./starcoder2.ts";
import type { Weights } from "./weights.ts";
import { buildDeepseekV2, buildDeepseekV3 } from "./deepseek.ts";
import { buildGlm4Moe } from "./glm4-moe.ts";
import { buildGptOss } from "./gpt-oss.ts";
import { buildGemma4 } from "./gemma4.ts";
import { SUPPORTED_ARCHITECTURES, type CausalArchitecture } from "./kinds.ts";

type Builder = (config: Config, ws: Weights) => CausalLM;

const ARCHITECTURES: Record<CausalArchitecture, Builder> = {
  llama: (c, ws) => buildLlama(c, ws, LLAMA),
  mistral: (c, ws) => buildLlama(c, ws, LLAMA),
  qwen2: (c, ws) => buildLlama(c, ws, QWEN2),
  qwen3: (c, ws) => buildLlama(c, ws, QWEN3),
  phi3: (c, ws) => buildLlama(c, ws, PHI3),
  gemma2: buildGemma2,
  gemma3_text: buildGemma3,
  qwen3_moe: buildQwen3Moe,
  olmo2: buildOlmo2,
  starcoder2: buildStarcoder2,
  granite: buildGranite,
  smollm3: buildSmolLM3,
  cohere2: buildCohere2,
  mixtral: buildMixtral,
  ministral3: buildMinistral3,
  deepseek_v2: buildDeepseekV2,
  deepseek_v3: buildDeepseekV3,
  glm4_moe: buildGlm4Moe,
  gpt_oss: buildGptOss,
  gemma4_text: buildGemma4,
  lfm2: buildLfm2,
  qwen3_5: buildQwen3_5,
  qwen3_5_moe: buildQwen3_5,
};

type EncoderBuilder = (config: Config, ws: Weights) => EncoderModel;

/** Embedding models (models/kinds.ts lists the same names for code that must not load MLX). */
const ENCODERS: Record<string, EncoderBuilder> = {
  bert: (c, ws) => Bert.load(c, ws),
  "xlm-roberta": (c, ws) => Bert.load(c, ws, XLM_ROBERTA),
  nomic_bert: NomicBert.load,
};

export { SUPPORTED_ARCHITECTURES };


export class UnsupportedArchitectureError extends Error {
  override name = "UnsupportedArchitectureError";
}

export function builderFor(modelType: string): Builder {
  const b = (ARCHITECTURES as Record<string, Builder | undefined>)[modelType];
  if (!b) {
    throw new UnsupportedArchitectureError(
      `model architecture "${modelType}" is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(", ")})`,
    );
  }
  return b;
}

export function encoderBuilderFor(modelType: string): EncoderBuilder {
  const b = ENCODERS[modelType];
  if (!b) {
    throw new UnsupportedArchitectureError(`embedding architecture "${modelType}" is not supported (supported: ${Object.keys(ENCODERS).join(", ")})`);
  }
  return b;
}
