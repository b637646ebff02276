// SmolLM3: llama whose every `no_rope_layer_interval`-th layer (4th by default) has no position embedding (NoPE), or
// as config.json's no_rope_layers lists them (1 = RoPE, 0 = NoPE).
import type { Config } from "./config.ts";
import { buildLlama, LLAMA, type LlamaFlavor } from "./llama.ts";
import type { DecoderLM } from "./model.ts";
import type { Weights } from "./weights.ts";

function usesRope(c: Config, layer: number): boolean {
  if (Array.isArray(c.no_rope_layers)) return Boolean(c.no_rope_layers[layer]);
  const interval = typeof c.no_rope_layer_interval === "number" ? c.no_rope_layer_interval : 4;
  return (layer + 1) % interval !== 0;
}

const SMOLLM3: LlamaFlavor = { ...LLAMA, noRope: (c, layer) => !usesRope(c, layer) };

export function buildSmolLM3(c: Config, ws: Weights): DecoderLM {
  return buildLlama(c, ws, SMOLLM3, "smollm3");
}
