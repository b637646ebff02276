// Streaming detokenizers after mlx-lm's tokenizer_utils.py (mlx-lm.md §3.10): text comes out as
// tokens arrive, never with half a UTF-8 character, and the first leading space is dropped as
// mlx-lm drops it. The kind is chosen from tokenizer.json's decoder, as mlx-lm's `load` does.
import type { DecoderConfig } from "./tokenizer-json.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface StreamingDetokenizer {
  /** Consume one token id; returns the text that became printable (possibly ""). */
  add(tokenId: number): string;
  /** Flush what was held back waiting for more tokens. */
  finalize(): string;
  /** All text emitted so far. */
  readonly text: string;
  readonly tokens: readonly number[];
}

export type DetokenizerKind = "spm" | "spm-keep-space" | "bpe" | "naive";

const REPLACEMENT = "\ufffd";
const SPM_SPACE = "▁";

const SPM_DECODERS = [
  { type: "Replace", pattern: { String: SPM_SPACE }, content: " " },
  { type: "ByteFallback" },
  { type: "Fuse" },
];
const SPM_STRIP = { type: "Strip", content: " ", start: 1, stop: 0 };

/** Structural equality of JSON values, key order ignored (mlx-lm's `_match`). */
function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const rb = b as Record<string, unknown>;
    return ka.length === Object.keys(b).length && ka.every((k) => k in rb && sameJson((a as Record<string, unknown>)[k], rb[k]));
  }
  return a === b;
}

export function detokenizerKind(decoder: DecoderConfig | null | undefined): DetokenizerKind {
  if (!decoder) return "naive";
  if (sameJson(decoder, { type: "Sequence", decoders: [...SPM_DECODERS, SPM_STRIP] })) return "spm";
  if (sameJson(decoder, { type: "Sequence", decoders: SPM_DECODERS })) return "spm-keep-space";
  if (decoder.type === "ByteLevel") return "bpe";
  return "naive";
}

/** A fresh detokenizer for one generation. Token tables are built once per tokenizer and shared. */
export function createDetokenizer(tokenizer: Tokenizer, kind = detokenizerKind(tokenizer.json.decoder)): StreamingDetokenizer {
  switch (kind) {
    case "spm":
    case "spm-keep-space":
      return new ByteStreamDetokenizer(tokenBytes(tokenizer, "spm"), kind === "spm", false);
    case "bpe":
      return new ByteStreamDetokenizer(tokenBytes(tokenizer, "bpe"), true, true);
    case "naive":
      return new NaiveDetokenizer(tokenizer);
  }
}

const utf8 = new TextEncoder();

/** GPT-2's bytes_to_unicode, inverted: the printable stand-in char → the byte it encodes. */
const BYTE_LEVEL_DECODER: ReadonlyMap<number, number> = (() => {
  const map = new Map<number, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(printable ? b : 256 + n++, b);
  }
  return map;
})();

function byteLevelBytes(token: string): Uint8Array {
  const out: number[] = [];
  for (const ch of token) {
    const b = BYTE_LEVEL_DECODER.get(ch.codePointAt(0)!);
    if (b !== undefined) out.push(b);
    else out.push(...utf8.encode(ch)); // added tokens such as <|im_end|> are plain text
  }
  return Uint8Array.from(out);
}

function spmBytes(token: string): Uint8Array {
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
  if (m) return Uint8Array.of(parseInt(m[1], 16));
  return utf8.encode(token.replaceAll(SPM_SPACE, " "));
}

/** The bytes each token id stands for; computed on first use, cached per tokenizer. */
class TokenBytes {
  private readonly cache: (Uint8Array | undefined)[] = [];
  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly toBytes: (token: string) => Uint8Array,
  ) {}

  get(id: number): Uint8Array {
    let bytes = this.cache[id];
    if (!bytes) {
      const token = this.tokenizer.idToToken(id);
      // An id past the vocabulary (a padded embedding) decodes to nothing rather than throwing mid-stream.
      bytes = token === undefined ? new Uint8Array(0) : this.toBytes(token);
      this.cache[id] = bytes;
    }
    return bytes;
  }
}

const tables = new WeakMap<Tokenizer, Map<string, TokenBytes>>();

function tokenBytes(tokenizer: Tokenizer, kind: "spm" | "bpe"): TokenBytes {
  let perKind = tables.get(tokenizer);
  if (!perKind) tables.set(tokenizer, (perKind = new Map()));
  let table = perKind.get(kind);
  if (!table) perKind.set(kind, (table = new TokenBytes(tokenizer, kind === "spm" ? spmBytes : byteLevelBytes)));
  return table;
}

/**
 * The bytes a token id stands for, as the streaming detokenizer decodes them (constrained decoding matches
 * them against a grammar); null for a decoder that is not byte-based ("naive").
 */
export function tokenByteTable(tokenizer: Tokenizer): ((id: number) => Uint8Array) | null {
  const kind = detokenizerKind(tokenizer.json.decoder);
  if (kind === "naive") return null;
  const table = tokenBytes(tokenizer, kind === "bpe" ? "bpe" : "spm");
  return (id) => table.get(id);
}

/**
 * mlx-lm's SPMStreamingDetokenizer and BPEStreamingDetokenizer, which differ only in how a token
 * becomes bytes and in BPE's wait after a lone space token (the next token may be one that the
 * tokenizer's cleanup would join to it). Pending bytes are held while they end in an incomplete
 * character.
 */
class ByteStreamDetokenizer implements StreamingDetokenizer {
  text = "";
  readonly tokens: number[] = [];
  private pending: number[] = [];
  private readonly decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

  constructor(
    private readonly table: TokenBytes,
    private readonly trimFirstSpace: boolean,
    private readonly holdLoneSpace: boolean,
  ) {}

  add(tokenId: number): string {
    this.tokens.push(tokenId);
    const bytes = this.table.get(tokenId);
    for (const b of bytes) this.pending.push(b);
    const decoded = this.decoder.decode(Uint8Array.from(this.pending));
    if (decoded.endsWith(REPLACEMENT)) return "";
    if (this.holdLoneSpace && bytes.length === 1 && bytes[0] === 0x20) return "";
    return this.flush(decoded);
  }

  finalize(): string {
    if (this.pending.length === 0) return "";
    return this.flush(this.decoder.decode(Uint8Array.from(this.pending)));
  }

  private flush(decoded: string): string {
    this.pending = [];
    const segment = this.trimFirstSpace && this.text === "" && decoded.startsWith(" ") ? decoded.slice(1) : decoded;
    this.text += segment;
    return segment;
  }
}

/**
 * mlx-lm's NaiveStreamingDetokenizer: re-decodes the tokens of the current line each time, hides a
 * trailing incomplete character (and a trailing space when the tokenizer cleans up spaces), and
 * commits the line at "\n".
 */
class NaiveDetokenizer implements StreamingDetokenizer {
  readonly tokens: number[] = [];
  private committed = "";
  private line: number[] = [];
  private lineText = "";
  private emitted = 0;
  private readonly cleansSpaces: boolean;

  constructor(private readonly tokenizer: Tokenizer) {
    const probe = tokenizer.encode("a ,b", { addSpecialTokens: false });
    this.cleansSpaces = !tokenizer.decode(probe).includes(" ,");
  }

  get text(): string {
    return this.committed + this.lineText;
  }

  add(tokenId: number): string {
    this.tokens.push(tokenId);
    this.line.push(tokenId);
    let current = this.tokenizer.decode(this.line);
    if (current.endsWith(REPLACEMENT)) current = current.replace(/\ufffd+$/, "");
    else if (this.cleansSpaces && current.endsWith(" ")) current = current.slice(0, -1);
    this.lineText = current;
    if (current.endsWith("\n")) {
      this.committed += current;
      this.line = [];
      this.lineText = "";
    }
    return this.takeNew();
  }

  finalize(): string {
    this.committed += this.tokenizer.decode(this.line);
    this.line = [];
    this.lineText = "";
    return this.takeNew();
  }

  /** The text since the last call; like mlx-lm's `last_segment`, it assumes text only grows. */
  private takeNew(): string {
    const text = this.text;
    const segment = text.slice(this.emitted);
    this.emitted = Math.max(this.emitted, text.length);
    return segment;
  }
}
