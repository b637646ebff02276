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
  // Every split of every piece is looked up by a 32-bit polynomial hash of its characters, not by a fresh string
  // (slicing and hashing one cost ~1 µs: Gemma 3 has 1.15 M splits); a hit is confirmed character by character,
  // so a collision can never change the result. Chains: the first id of each hash, then the rest in `next`.
  // An open-addressing table of the vocabulary's ids by hash (a Map of numbers cost ~400 ns a lookup here).
  let size = 1;
  while (size < tokens.length * 2) size *= 2;
  const mask = size - 1;
  const slotId = new Int32Array(size).fill(-1);
  const slotHash = new Int32Array(size);
  const lengths = new Int32Array(tokens.length);
  /** The id of piece[from, to) in the vocabulary (h: its hash), or -1. */
  const find = (piece: string, from: number, to: number, h: number): number => {
    for (let j = mix(h) & mask; slotId[j]! >= 0; j = (j + 1) & mask) {
      if (slotHash[j] !== h) continue;
      const id = slotId[j]!;
      if (lengths[id] !== to - from) continue;
      const t = tokens[id]!;
      let i = 0;
      while (i < to - from && t.charCodeAt(i) === piece.charCodeAt(from + i)) i++;
      if (i === to - from) return id;
    }
    return -1;
  };
  for (let id = 0; id < tokens.length; id++) {
    const t = tokens[id]!;
    lengths[id] = t.length;
    let h = 0;
    for (let i = 0; i < t.length; i++) h = (Math.imul(h, P) + t.charCodeAt(i)) | 0;
    if (find(t, 0, t.length, h) >= 0) continue; // a duplicate piece: the vocabulary keeps its first id
    let j = mix(h) & mask;
    while (slotId[j]! >= 0) j = (j + 1) & mask;
    slotId[j] = id;
    slotHash[j] = h;
  }
  const merges: string[][] = [];
  const local: [number, number, number][] = [];
  const suffix: number[] = [];
  for (const id of order) {
    const piece = tokens[id]!;
    const n = piece.length;
    // suffix[i]: the hash of piece[i, n), computed backwards
    let acc = 0;
    let pow = 1;
    for (let i = n - 1; i >= 0; i--) {
      acc = (acc + Math.imul(piece.charCodeAt(i), pow)) | 0;
      pow = Math.imul(pow, P);
      suffix[i] = acc;
    }
    local.length = 0;
    let h = 0;
    // every split between two characters (code points: never inside a surrogate pair)
    for (let i = 1; i < n; i++) {
      h = (Math.imul(h, P) + piece.charCodeAt(i - 1)) | 0;
      const c = piece.charCodeAt(i);
      if (c >= 0xdc00 && c <= 0xdfff) continue;
      const l = find(piece, 0, i, h);
      if (l < 0) continue;
      const r = find(piece, i, n, suffix[i]!);
      if (r >= 0) local.push([i, l, r]);
    }
    local.sort((a, b) => a[1] - b[1] || a[2] - b[2]);
    for (const [i] of local) merges.push([piece.slice(0, i), piece.slice(i)]);
  }
  return merges;
}

const P = 1000003;
/** Spreads a polynomial hash's bits over the table's index (murmur3's finalizer). */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
