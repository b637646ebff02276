// JSON's lexical pieces at the byte level: string characters (escapes, and UTF-8 exactly as a strict decoder
// takes it) and byte classes. The matcher (matcher.ts) keeps the structure; this keeps the characters.

export const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;
export const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/**
 * String sub-states: 0 plain; 1 after a backslash; 10+n: n hex digits of \u left; 20+n: n UTF-8 continuation
 * bytes left; 30..33: the first continuation byte after E0, ED, F0, F4, whose range is narrower (no overlong
 * forms, no surrogates, nothing past U+10FFFF): bytes a decoder would replace with U+FFFD never pass.
 */
export const S_PLAIN = 0;
const S_ESCAPE = 1;
const S_HEX = 10;
const S_UTF8 = 20;
const S_NARROW = 30;
/** [low, high, continuation bytes left after it] for S_NARROW + i */
const NARROW: readonly (readonly [number, number, number])[] = [
  [0xa0, 0xbf, 1], // after E0
  [0x80, 0x9f, 1], // after ED
  [0x90, 0xbf, 2], // after F0
  [0x80, 0x8f, 2], // after F4
];

/** One JSON string byte from sub-state `sub`: the next sub-state, or -1 when the byte cannot come here. */
export function stringByte(sub: number, b: number): number {
  if (sub === S_PLAIN) {
    if (b === 0x5c) return S_ESCAPE;
    if (b < 0x20 || b === 0x22) return -1;
    if (b < 0x80) return S_PLAIN;
    if (b >= 0xc2 && b <= 0xdf) return S_UTF8 + 1;
    if (b === 0xe0) return S_NARROW;
    if (b === 0xed) return S_NARROW + 1;
    if (b >= 0xe1 && b <= 0xef) return S_UTF8 + 2;
    if (b === 0xf0) return S_NARROW + 2;
    if (b === 0xf4) return S_NARROW + 3;
    if (b >= 0xf1 && b <= 0xf3) return S_UTF8 + 3;
    return -1;
  }
  if (sub === S_ESCAPE) {
    if (b === 0x75) return S_HEX + 4;
    return b === 0x22 || b === 0x5c || b === 0x2f || b === 0x62 || b === 0x66 || b === 0x6e || b === 0x72 || b === 0x74 ? S_PLAIN : -1;
  }
  if (sub > S_HEX && sub <= S_HEX + 4) return isHex(b) ? (sub === S_HEX + 1 ? S_PLAIN : sub - 1) : -1;
  if (sub > S_UTF8 && sub <= S_UTF8 + 3) return b >= 0x80 && b <= 0xbf ? (sub === S_UTF8 + 1 ? S_PLAIN : sub - 1) : -1;
  const narrow = NARROW[sub - S_NARROW];
  if (narrow) return b >= narrow[0] && b <= narrow[1] ? S_UTF8 + narrow[2] : -1;
  return -1;
}
