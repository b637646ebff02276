// A tokenizer's vocabulary as bytes, prepared once per loaded model for mask computation: every token that
// can appear in constrained text, sorted by its bytes with the length of the prefix it shares with the one
// before (a trie laid flat: a walk reuses the matcher states of the shared prefix and skips every token under
// a dead prefix in O(1)). Special tokens are left out: they are never text; EOS is allowed separately.
import { tokenByteTable } from "../../formats/tokenizer/detokenizer.ts";
import type { Tokenizer } from "../../formats/tokenizer/tokenizer.ts";

export interface SortedTokens {
  ids: Int32Array;
  /** the tokens' bytes back to back, in sorted order */
  bytes: Uint8Array;
  /** token i's bytes are bytes[offsets[i] .. offsets[i + 1]) */
  offsets: Int32Array;
  /** bytes token i shares with token i - 1 */
  shared: Int32Array;
  maxLength: number;
}

export interface ByteVocab {
  /** one past the highest token id */
  size: number;
  bytesOf(id: number): Uint8Array;
  all: SortedTokens;
  /** tokens that are not plain string text: only these need a walk inside a free JSON string */
  notPlain: SortedTokens;
  /** 1 for tokens of plain string text: no quote, backslash or control byte, whole UTF-8 characters */
  plain: Uint8Array;
  /** characters (code points) of each plain-text token, for strings with a maxLength */
  plainChars: Uint16Array;
  eos: readonly number[];
}

const utf8 = new TextEncoder();
// ignoreBOM: a U+FEFF token is a character like any other, not a marker to drop.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const vocabs = new WeakMap<Tokenizer, ByteVocab>();

export function byteVocab(tokenizer: Tokenizer): ByteVocab {
  let v = vocabs.get(tokenizer);
  if (!v) vocabs.set(tokenizer, (v = buildVocab(tokenizer)));
  return v;
}

function buildVocab(tokenizer: Tokenizer): ByteVocab {
  const size = tokenizer.idLimit;
  const table = tokenByteTable(tokenizer);
  // A decoder that is not byte-based: a token's text is what decode gives for it alone.
  const bytesOf = table ?? ((id: number) => utf8.encode(tokenizer.decode([id])));
  const special = new Set<number>(tokenizer.eosTokenIds);
  for (const t of tokenizer.json.added_tokens ?? []) if (t.special) special.add(t.id);

  const entries: { id: number; key: string; bytes: Uint8Array }[] = [];
  const plain = new Uint8Array(size);
  const plainChars = new Uint16Array(size);
  for (let id = 0; id < size; id++) {
    if (special.has(id) || tokenizer.idToToken(id) === undefined) continue;
    const bytes = bytesOf(id);
    if (bytes.length === 0) continue;
    // Latin-1 strings compare code unit by code unit, which is byte order: the engine's sort does the work.
    entries.push({ id, key: String.fromCharCode(...bytes), bytes });
    const chars = plainTextChars(bytes);
    if (chars >= 0) {
      plain[id] = 1;
      plainChars[id] = Math.min(chars, 0xffff);
    }
  }
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    size,
    bytesOf,
    all: sortedTokens(entries),
    notPlain: sortedTokens(entries.filter((e) => !plain[e.id])),
    plain,
    plainChars,
    eos: [...tokenizer.eosTokenIds].filter((id) => id < size),
  };
}

/** Code points of a token that is plain JSON string text, or -1. */
function plainTextChars(bytes: Uint8Array): number {
  for (const b of bytes) if (b < 0x20 || b === 0x22 || b === 0x5c) return -1;
  try {
    let n = 0;
    for (const _ of strictUtf8.decode(bytes)) n++;
    return n;
  } catch {
    return -1;
  }
}

function sortedTokens(entries: readonly { id: number; bytes: Uint8Array }[]): SortedTokens {
  const n = entries.length;
  const ids = new Int32Array(n);
  const offsets = new Int32Array(n + 1);
  const shared = new Int32Array(n);
  let total = 0;
  let maxLength = 0;
  for (const e of entries) {
    total += e.bytes.length;
    maxLength = Math.max(maxLength, e.bytes.length);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  let prev: Uint8Array | null = null;
  entries.forEach((e, i) => {
    ids[i] = e.id;
    offsets[i] = at;
    bytes.set(e.bytes, at);
    at += e.bytes.length;
    let s = 0;
    if (prev) while (s < prev.length && s < e.bytes.length && prev[s] === e.bytes[s]) s++;
    shared[i] = s;
    prev = e.bytes;
  });
  offsets[n] = at;
  return { ids, bytes, offsets, shared, maxLength };
}
