// A WordPiece tokenizer.json from a GGUF's BERT vocabulary. llama.cpp's converter (and Ollama's) store the vocab in
// "phantom space" form: a word-initial piece gets a leading "▁", a "##" continuation loses its "##", and bracketed
// specials ([CLS], [UNK]) stay. Undone here, the pieces are Hugging Face's again, and so is the tokenizer: BERT's
// normalizer (lowercase, accents stripped, CJK split, control characters dropped, as uncased BERT and llama.cpp's
// WPM tokenizer both do), BertPreTokenizer, WordPiece with "##" and 100 characters per word at most.
import type { TokenizerJson } from "./tokenizer-json.ts";

export function wordPiece(token: string): string {
  if (token.startsWith("[") && token.endsWith("]")) return token;
  if (token.startsWith("\u2581")) return token.slice(1);
  return `##${token}`;
}

export function wordPieceJson(
  tokens: readonly string[],
  addedTokens: TokenizerJson["added_tokens"],
  cls: number | undefined,
  sep: number | undefined,
  unk: number | undefined,
): TokenizerJson {
  const pieces = tokens.map(wordPiece);
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  pieces.forEach((p, id) => {
    if (vocab[p] === undefined) vocab[p] = id;
  });
  const special = (id: number) => ({ SpecialToken: { id: pieces[id], type_id: 0 } });
  const wrap = (seq: "A" | "B", typeId: number) => [
    ...(cls !== undefined && seq === "A" ? [special(cls)] : []),
    { Sequence: { id: seq, type_id: typeId } },
    ...(sep !== undefined ? [{ SpecialToken: { id: pieces[sep], type_id: typeId } }] : []),
  ];
  const specialTokens: Record<string, unknown> = {};
  for (const id of [cls, sep]) if (id !== undefined) specialTokens[pieces[id]!] = { id: pieces[id], ids: [id], tokens: [pieces[id]] };
  return {
    version: "1.0",
    added_tokens: (addedTokens ?? []).map((t) => ({ ...t, content: wordPiece(t.content) })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor:
      cls === undefined && sep === undefined ? null : { type: "TemplateProcessing", single: wrap("A", 0), pair: [...wrap("A", 0), ...wrap("B", 1)], special_tokens: specialTokens },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: unk !== undefined ? pieces[unk]! : "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}
