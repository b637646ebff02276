// A Unigram tokenizer.json from a GGUF's "t5" vocabulary (SentencePiece Unigram: T5, and XLM-RoBERTa's bge-m3 and
// multilingual models as llama.cpp converts them): pieces with their log-probabilities, the precompiled charsmap
// normalizer when the file has one, runs of spaces collapsed (remove_extra_whitespaces), "▁" before words.
import type { TokenizerJson } from "./tokenizer-json.ts";

export interface UnigramVocab {
  tokens: readonly string[];
  scores: readonly number[];
  addedTokens: TokenizerJson["added_tokens"];
  unk: number | undefined;
  /** SentencePiece's normalization table, as tokenizer.ggml.precompiled_charsmap stores it */
  charsmap: Uint8Array | null;
  addSpacePrefix: boolean;
  removeExtraWhitespaces: boolean;
  postProcessor: unknown;
}

export function unigramJson(v: UnigramVocab): TokenizerJson {
  const normalizers: unknown[] = [];
  if (v.charsmap && v.charsmap.length > 0) normalizers.push({ type: "Precompiled", precompiled_charsmap: Buffer.from(v.charsmap).toString("base64") });
  if (v.removeExtraWhitespaces) normalizers.push({ type: "Replace", pattern: { Regex: " {2,}" }, content: " " });
  const metaspace = { type: "Metaspace", replacement: "\u2581", prepend_scheme: v.addSpacePrefix ? "always" : "never", split: true };
  return {
    version: "1.0",
    added_tokens: v.addedTokens,
    normalizer: normalizers.length > 0 ? { type: "Sequence", normalizers } : null,
    pre_tokenizer: metaspace,
    post_processor: v.postProcessor,
    decoder: metaspace,
    model: { type: "Unigram", unk_id: v.unk ?? null, vocab: v.tokens.map((t, i) => [t, v.scores[i] ?? 0]), byte_fallback: false },
  };
}
