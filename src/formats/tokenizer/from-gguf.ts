// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json objects) from GGUF metadata, so GGUF models
// use the same Tokenizer as mlx-community ones. Two GGUF vocab kinds:
//  - "gpt2": byte-level BPE; tokens and merges as stored; the pre-tokenizer regex comes from
//    tokenizer.ggml.pre (llama.cpp's names), since GGUF stores a name, not the regex.
//  - "llama": SentencePiece BPE with scores and <0xNN> byte tokens; merges are derived from the scores the way
//    Hugging Face's SentencePieceExtractor does (a merge's rank is the score of the piece it makes).
//  - "bert": WordPiece, in llama.cpp's "phantom space" form (bert-vocab.ts undoes it); [CLS] text [SEP].
//  - "t5": SentencePiece Unigram (unigram-vocab.ts), as llama.cpp converts T5 and XLM-RoBERTa (bge-m3).
import gemma3Template from "./templates/gemma3.jinja" with { type: "text" };
import { Tokenizer, type TokenizerConfig, type TokenizerExtras, type TokenizerJson } from "./tokenizer.ts";
import { wordPieceJson } from "./bert-vocab.ts";
import { unigramJson } from "./unigram-vocab.ts";

export type GgufMetadata = Record<string, unknown>;

export class GgufTokenizerError extends Error {
  override name = "GgufTokenizerError";
}

// llama.cpp's pre-tokenizer regexes (src/llama-vocab.cpp), keyed by tokenizer.ggml.pre.
const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const split = (pattern: string) => ({ type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false });
const byteLevel = (useRegex: boolean) => ({ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: useRegex });

const PRE_TOKENIZERS: Record<string, unknown> = {
  default: byteLevel(true),
  gpt2: byteLevel(true),
  smollm: { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel(true)] },
  "llama-bpe": { type: "Sequence", pretokenizers: [split(LLAMA3_REGEX), byteLevel(false)] },
  llama3: { type: "Sequence", pretokenizers: [split(LLAMA3_REGEX), byteLevel(false)] },
  "smaug-bpe": { type: "Sequence", pretokenizers: [split(LLAMA3_REGEX), byteLevel(false)] },
  qwen2: { type: "Sequence", pretokenizers: [split(QWEN2_REGEX), byteLevel(false)] },
  "deepseek-r1-qwen": { type: "Sequence", pretokenizers: [split(QWEN2_REGEX), byteLevel(false)] },
};
void GPT2_REGEX; // documented above: ByteLevel's own regex is this one

/** Chat templates for architectures whose GGUFs usually carry none (Ollama ships them as Go templates). */
const FALLBACK_TEMPLATES: Record<string, string> = { gemma3: gemma3Template };

const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

function list<T>(md: GgufMetadata, key: string): T[] {
  const v = md[key];
  if (!Array.isArray(v)) throw new GgufTokenizerError(`GGUF has no ${key}`);
  return v as T[];
}

function optNum(md: GgufMetadata, key: string): number | undefined {
  const v = md[key];
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
}

export interface GgufTokenizer {
  json: TokenizerJson;
  config: TokenizerConfig;
  extras: TokenizerExtras;
}

/** The model's tokenizer, built from its GGUF metadata. */
export function ggufTokenizer(md: GgufMetadata): Tokenizer {
  const g = tokenizerFromGguf(md);
  return Tokenizer.fromObjects(g.json, g.config, g.extras);
}

export function tokenizerFromGguf(md: GgufMetadata): GgufTokenizer {
  const kind = String(md["tokenizer.ggml.model"] ?? "");
  const tokens = list<string>(md, "tokenizer.ggml.tokens");
  const types = Array.isArray(md["tokenizer.ggml.token_type"]) ? (md["tokenizer.ggml.token_type"] as number[]) : [];
  const bos = optNum(md, "tokenizer.ggml.bos_token_id");
  const eos = optNum(md, "tokenizer.ggml.eos_token_id");
  const unk = optNum(md, "tokenizer.ggml.unknown_token_id");
  const pad = optNum(md, "tokenizer.ggml.padding_token_id");
  const addBos = md["tokenizer.ggml.add_bos_token"] === true;
  const addEos = md["tokenizer.ggml.add_eos_token"] === true;
  const addSpacePrefix = md["tokenizer.ggml.add_space_prefix"] === true;

  // No prototype: tokens such as "constructor" or "toString" are ordinary vocabulary entries.
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  tokens.forEach((t, id) => {
    if (vocab[t] === undefined) vocab[t] = id;
  });
  const addedTokens = tokens
    .map((content, id) => ({ content, id, type: types[id] ?? TOKEN_TYPE.normal }))
    .filter((t) => t.type === TOKEN_TYPE.control || t.type === TOKEN_TYPE.userDefined)
    .map((t) => ({
      id: t.id,
      content: t.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: t.type === TOKEN_TYPE.userDefined,
      special: t.type === TOKEN_TYPE.control,
    }));

  let json: TokenizerJson;
  if (kind === "gpt2") {
    const pre = String(md["tokenizer.ggml.pre"] ?? "default");
    const preTokenizer = PRE_TOKENIZERS[pre];
    if (!preTokenizer) {
      throw new GgufTokenizerError(
        `GGUF pre-tokenizer "${pre}" is not supported (supported: ${Object.keys(PRE_TOKENIZERS).join(", ")})`,
      );
    }
    json = {
      version: "1.0",
      added_tokens: addedTokens,
      normalizer: null,
      pre_tokenizer: preTokenizer,
      post_processor: postProcessor(tokens, addBos ? bos : undefined, addEos ? eos : undefined),
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: list<string>(md, "tokenizer.ggml.merges"),
      },
    };
  } else if (kind === "llama") {
    const scores = list<number>(md, "tokenizer.ggml.scores");
    json = {
      version: "1.0",
      added_tokens: addedTokens,
      normalizer: addSpacePrefix
        ? { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] }
        : { type: "Replace", pattern: { String: " " }, content: "▁" },
      pre_tokenizer: null,
      post_processor: postProcessor(tokens, addBos ? bos : undefined, addEos ? eos : undefined),
      decoder: {
        type: "Sequence",
        decoders: [
          { type: "Replace", pattern: { String: "▁" }, content: " " },
          { type: "ByteFallback" },
          { type: "Fuse" },
          ...(addSpacePrefix ? [{ type: "Strip", content: " ", start: 1, stop: 0 }] : []),
        ],
      },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: unk !== undefined ? tokens[unk] : null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: true,
        ignore_merges: false,
        vocab,
        merges: spmMerges(tokens, scores, types, vocab),
      },
    };
  } else if (kind === "bert") {
    // llama.cpp's WPM tokenizer always wraps a text in CLS (the BOS id) and SEP (the separator, or EOS, id)
    const sep = optNum(md, "tokenizer.ggml.seperator_token_id") ?? eos;
    json = wordPieceJson(tokens, addedTokens, md["tokenizer.ggml.add_bos_token"] === false ? undefined : bos, sep, unk);
  } else if (kind === "t5") {
    const charsmap = md["tokenizer.ggml.precompiled_charsmap"];
    json = unigramJson({
      tokens,
      scores: list<number>(md, "tokenizer.ggml.scores"),
      addedTokens,
      unk,
      charsmap: Array.isArray(charsmap) ? Uint8Array.from(charsmap as number[]) : null,
      addSpacePrefix: md["tokenizer.ggml.add_space_prefix"] !== false,
      removeExtraWhitespaces: md["tokenizer.ggml.remove_extra_whitespaces"] === true,
      postProcessor: postProcessor(tokens, addBos ? bos : undefined, addEos ? eos : undefined),
    });
  } else {
    throw new GgufTokenizerError(`GGUF tokenizer model "${kind}" is not supported (gpt2, llama, bert and t5 are)`);
  }

  const name = (id: number | undefined) => (id !== undefined && tokens[id] !== undefined ? tokens[id]! : null);
  const arch = String(md["general.architecture"] ?? "");
  const template = typeof md["tokenizer.chat_template"] === "string" ? (md["tokenizer.chat_template"] as string) : (FALLBACK_TEMPLATES[arch] ?? null);
  const config: TokenizerConfig = {
    bos_token: name(bos),
    eos_token: name(eos),
    unk_token: name(unk),
    pad_token: name(pad),
    add_bos_token: addBos,
    add_eos_token: addEos,
    chat_template: template,
  };
  // Chat models end turns with a token that is not the GGUF's eos (<|im_end|>, <end_of_turn>, <|eot_id|>):
  // llama.cpp stops on every end-of-generation token, so the EOS set includes them.
  const eosIds = new Set<number>();
  if (eos !== undefined) eosIds.add(eos);
  const eot = optNum(md, "tokenizer.ggml.eot_token_id");
  if (eot !== undefined) eosIds.add(eot);
  for (const t of ["<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "<|endoftext|>"]) {
    const id = vocab[t];
    if (id !== undefined && (types[id] ?? TOKEN_TYPE.control) === TOKEN_TYPE.control) eosIds.add(id);
  }
  return { json, config, extras: { chatTemplate: template, eosTokenId: [...eosIds] } };
}

function postProcessor(tokens: string[], bos: number | undefined, eos: number | undefined): unknown {
  if (bos === undefined && eos === undefined) return null;
  const special = (id: number) => ({ SpecialToken: { id: tokens[id], type_id: 0 } });
  const single = [...(bos !== undefined ? [special(bos)] : []), { Sequence: { id: "A", type_id: 0 } }, ...(eos !== undefined ? [special(eos)] : [])];
  const pair = [...single, ...(bos !== undefined ? [special(bos)] : []), { Sequence: { id: "B", type_id: 1 } }, ...(eos !== undefined ? [special(eos)] : [])];
  const specialTokens: Record<string, unknown> = {};
  for (const id of [bos, eos]) if (id !== undefined) specialTokens[tokens[id]!] = { id: tokens[id], ids: [id], tokens: [tokens[id]] };
  return { type: "TemplateProcessing", single, pair, special_tokens: specialTokens };
}

/**
 * Hugging Face's SentencePieceExtractor: for each piece, in order of decreasing score, every split into two
 * pieces that are both in the vocabulary is a merge (ties ordered by the ids of the two halves).
 */
function spmMerges(tokens: string[], scores: number[], types: number[], vocab: Record<string, number>): string[][] {
  const order = tokens.map((_, id) => id).filter((id) => (types[id] ?? 1) === TOKEN_TYPE.normal || (types[id] ?? 1) === TOKEN_TYPE.userDefined);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const merges: string[][] = [];
  const local: [string, string, number, number][] = [];
  for (const id of order) {
    const piece = tokens[id]!;
    local.length = 0;
    // every split between two characters (code points: never inside a surrogate pair); slices, not rebuilt
    // strings, which made this the larger part of Gemma 3's load (262,144 pieces)
    for (let i = 1; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (c >= 0xdc00 && c <= 0xdfff) continue;
      const left = piece.slice(0, i);
      const l = vocab[left];
      if (l === undefined) continue;
      const right = piece.slice(i);
      const r = vocab[right];
      if (r !== undefined) local.push([left, right, l, r]);
    }
    local.sort((a, b) => a[2] - b[2] || a[3] - b[3]);
    for (const [l, r] of local) merges.push([l, r]);
  }
  return merges;
}
