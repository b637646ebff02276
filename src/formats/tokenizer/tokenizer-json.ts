// The shapes of tokenizer.json and tokenizer_config.json as we read them: a leaf, so that the files that rewrite
// or inspect them (transformers-compat, bert-vocab, unigram-vocab, detokenizer) need not import tokenizer.ts.

/** tokenizer.json as written by Hugging Face `tokenizers`; only the parts we read are typed. */
export interface TokenizerJson {
  model: { type: string; vocab?: unknown; [key: string]: unknown };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  decoder?: DecoderConfig | null;
  [key: string]: unknown;
}

export interface DecoderConfig {
  type: string;
  [key: string]: unknown;
}

/** A special token in tokenizer_config.json: a string, or an AddedToken object. */
export type TokenSpec = string | { content: string; [key: string]: unknown } | null;

/** tokenizer_config.json (after special_tokens_map.json is merged in). */
export interface TokenizerConfig {
  bos_token?: TokenSpec;
  eos_token?: TokenSpec;
  unk_token?: TokenSpec;
  sep_token?: TokenSpec;
  pad_token?: TokenSpec;
  cls_token?: TokenSpec;
  mask_token?: TokenSpec;
  chat_template?: string | { name: string; template: string }[] | null;
  [key: string]: unknown;
}
