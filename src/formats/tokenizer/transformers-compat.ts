// transformers ≥ 5 does not run every tokenizer.json as written: a few tokenizer classes rebuild
// their pipeline from the vocab and merges, and mlx-lm inherits that. We rewrite tokenizer.json the
// same way, so @huggingface/tokenizers encodes what transformers encodes.
import type { TokenizerConfig, TokenizerJson } from "./tokenizer-json.ts";

/**
 * LlamaTokenizer (transformers 5, models/llama/tokenization_llama.py) hardcodes a SentencePiece-style
 * pipeline: no normalizer, a Metaspace pre-tokenizer, and the Replace/ByteFallback/Fuse[/Strip]
 * decoder. The difference shows on text that starts with a space: the legacy `Prepend ▁` normalizer
 * of older tokenizer.json files doubles it, Metaspace does not. Checkpoints that declare
 * LlamaTokenizer but ship a ByteLevel tokenizer.json are loaded as written (tokenization_auto.py).
 */
function isSpmLlama(json: TokenizerJson, config: TokenizerConfig): boolean {
  const declared = typeof config.tokenizer_class === "string" ? config.tokenizer_class.replace(/Fast$/, "") : "";
  if (declared !== "LlamaTokenizer" || json.model.type !== "BPE") return false;
  return !JSON.stringify([json.pre_tokenizer ?? null, json.decoder ?? null]).includes('"ByteLevel"');
}

function llamaPipeline(json: TokenizerJson, config: TokenizerConfig): TokenizerJson {
  const addPrefixSpace = typeof config.add_prefix_space === "boolean" ? config.add_prefix_space : true;
  const legacy = config.legacy === true;
  const prependScheme = !addPrefixSpace ? "never" : legacy ? "always" : "first";
  const decoders: Record<string, unknown>[] = [
    { type: "Replace", pattern: { String: "▁" }, content: " " },
    { type: "ByteFallback" },
    { type: "Fuse" },
  ];
  if (addPrefixSpace) decoders.push({ type: "Strip", content: " ", start: 1, stop: 0 });
  return {
    ...json,
    normalizer: null,
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: prependScheme, split: false },
    decoder: { type: "Sequence", decoders },
    model: { ...json.model, fuse_unk: true, byte_fallback: true },
  };
}

/** tokenizer.json as transformers would run it for this tokenizer_config.json. */
export function asTransformersRuns(json: TokenizerJson, config: TokenizerConfig): TokenizerJson {
  return isSpmLlama(json, config) ? llamaPipeline(json, config) : json;
}
