// How a model's answer reaches the screen (cmd.go displayResponse, thinkingOutput*, api.Metrics.Summary): words
// wrapped at the terminal's width as they stream, thinking in grey between markers, --verbose timings on stderr.
import { formatGoDuration } from "../api/duration.ts";
import type { Metrics } from "../schemas/index.ts";

export const GREY = "\x1b[38;5;245m";
export const BOLD = "\x1b[1m";
export const RESET = "\x1b[0m";

/** api.Metrics.Summary: labels padded to 22 columns, durations as Go prints them, rates with two decimals. */
export function metricsSummary(m: Metrics): string {
  const duration = (ns: number) => formatGoDuration(BigInt(Math.round(ns)));
  const rate = (count: number, ns: number) => `${(count / (ns / 1e9)).toFixed(2)} tokens/s`;
  let out = "";
  if (m.total_duration) out += `total duration:       ${duration(m.total_duration)}\n`;
  if (m.load_duration) out += `load duration:        ${duration(m.load_duration)}\n`;
  if (m.prompt_eval_count) out += `prompt eval count:    ${m.prompt_eval_count} token(s)\n`;
  if (m.prompt_eval_duration) {
    out += `prompt eval duration: ${duration(m.prompt_eval_duration)}\n`;
    out += `prompt eval rate:     ${rate(m.prompt_eval_count ?? 0, m.prompt_eval_duration)}\n`;
  }
  if (m.eval_count) out += `eval count:           ${m.eval_count} token(s)\n`;
  if (m.eval_duration) {
    out += `eval duration:        ${duration(m.eval_duration)}\n`;
    out += `eval rate:            ${rate(m.eval_count ?? 0, m.eval_duration)}\n`;
  }
  return out;
}

export function thinkingOpening(plain: boolean): string {
  const text = "Thinking...\n";
  return plain ? text : GREY + BOLD + text + RESET + GREY;
}

export function thinkingClosing(plain: boolean): string {
  const text = "...done thinking.\n\n";
  return plain ? text : GREY + BOLD + text + RESET;
}

/** Characters that take two columns (CJK, fullwidth forms, most emoji), as go-runewidth counts them. */
function charWidth(ch: string): number {
  const c = ch.codePointAt(0)!;
  if (
    (c >= 0x1100 && c <= 0x115f) ||
    (c >= 0x2e80 && c <= 0xa4cf) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0xff00 && c <= 0xff60) ||
    (c >= 0xffe0 && c <= 0xffe6) ||
    (c >= 0x1f300 && c <= 0x1faff) ||
    (c >= 0x20000 && c <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

export function stringWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch);
  return width;
}

/**
 * Streams text to `write`, breaking lines between words before the right margin. A word that would cross it is
 * erased and rewritten on the next line (Ollama's displayResponse). Width 0 (not a terminal, or --nowordwrap):
 * the text passes through untouched.
 */
export class WordWrapper {
  private lineLength = 0;
  private word = "";

  constructor(
    private readonly write: (text: string) => void,
    private readonly width: number,
  ) {}

  push(content: string): void {
    if (this.width < 10) {
      this.write(this.word + content);
      this.word = "";
      return;
    }
    let out = "";
    for (const ch of content) {
      const w = charWidth(ch);
      if (this.lineLength + 1 > this.width - 5) {
        if (stringWidth(this.word) > this.width - 10) {
          out += this.word + ch;
          this.word = "";
          this.lineLength = 0;
          continue;
        }
        const back = stringWidth(this.word);
        if (back > 0) out += `\x1b[${back}D`;
        out += "\x1b[K\n" + this.word + ch;
        this.lineLength = back + w;
        continue;
      }
      out += ch;
      this.lineLength += w;
      if (w >= 2) {
        this.word = "";
        continue;
      }
      if (ch === " " || ch === "\t") this.word = "";
      else if (ch === "\n" || ch === "\r") {
        this.lineLength = 0;
        this.word = "";
      } else this.word += ch;
    }
    this.write(out);
  }
}
