// Ministral 3 (the text model of mistral3 checkpoints whose text_config says ministral3): llama whose RoPE comes from
// rope_parameters (yarn) and whose queries are scaled by position, Llama 4's attention temperature
// (layers/query-scale.ts), with llama_4_scaling_beta and the original context length from rope_parameters.
import type { Config } from "./config.ts";
import { ConfigError } from "./config.ts";
import { buildLlama, LLAMA, type LlamaFlavor } from "./llama.ts";
import type { DecoderLM } from "./model.ts";
import type { Weights } from "./weights.ts";

function ropeParameters(c: Config): Record<string, unknown> {
  const rp = c.rope_parameters;
  if (!rp || typeof rp !== "object") throw new ConfigError('config.json: ministral3 needs "rope_parameters"');
  return rp as Record<string, unknown>;
}

const MINISTRAL3: LlamaFlavor = {
  ...LLAMA,
  queryScale: (c) => {
    const rp = ropeParameters(c);
    return { beta: Number(rp.llama_4_scaling_beta), period: Number(rp.original_max_position_embeddings) };
  },
};

export function buildMinistral3(c: Config, ws: Weights): DecoderLM {
  const rp = ropeParameters(c);
  // mlx-lm builds the rope from rope_parameters alone: its theta, its scaling, never traditional (a GGUF's Q/K rows,
  // permuted by llama.cpp's converter, rotate in adjacent pairs: rope_traditional, as the GGUF loader says)
  const config = { ...c, rope_theta: rp.rope_theta, rope_scaling: rp, rope_traditional: c.rope_traditional === true };
  return buildLlama(config, ws, MINISTRAL3, "ministral3");
}
