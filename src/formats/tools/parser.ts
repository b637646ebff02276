// Streaming tool-call parser: model text in, { content, toolCalls } out, per segment.
// Content before a call streams out as it comes; text that may be the start of a call is held back until
// it is decided; a call is emitted only whole; text that turns out not to be a call is released as content.
//
// Invalid call text (bad JSON inside <tool_call>…</tool_call>, an unterminated call at the end) is released
// verbatim as content. That is what Ollama's generic template-derived parser does ("anything unparseable is
// flushed as content at done", tools/tools.go); Ollama's built-in qwen3 parser instead fails the request
// (parseJSONToolCall returns the json.Unmarshal error) and mlx-lm logs and drops the call. Keeping the
// text loses nothing and never turns a chat into an error mid-stream.
import { TOOL_FORMATS, type ToolFormat, type ToolFormatSpec } from "./formats.ts";
import type { ParsedCall } from "./parsed-call.ts";
import { skipWhitespace } from "./json-scan.ts";

export { detectToolFormat } from "./detect.ts";
export { TOOL_FORMATS, type ToolFormat } from "./formats.ts";

/** Ollama's message.tool_calls[] entry (id is assigned by the route, not here). */
export interface ToolCall {
  function: { index: number; name: string; arguments: Record<string, unknown> };
}

export interface ToolParseResult {
  content: string;
  toolCalls: ToolCall[];
}

export interface ToolCallParser {
  /** Feed the next piece of decoded text. */
  push(text: string): ToolParseResult;
  /** End of generation: release whatever is held (a complete-looking call is still tried). */
  flush(): ToolParseResult;
}

export function createToolCallParser(format: ToolFormat): ToolCallParser {
  return new StreamingToolCallParser(TOOL_FORMATS[format]);
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `markers`. */
function partialMarkerLength(text: string, markers: string[]): number {
  let best = 0;
  for (const marker of markers) {
    for (let n = Math.min(marker.length - 1, text.length); n > best; n--) {
      if (text.endsWith(marker.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}

function trailingWhitespaceLength(text: string): number {
  return text.length - text.trimEnd().length;
}

class StreamingToolCallParser implements ToolCallParser {
  /** Text received and not yet released: content on hold, or the body of the call being read. */
  private buffer = "";
  /** Text that opened the call being read (marker, with the whitespace before it); null while reading content. */
  private openMarker: string | null = null;
  /** At the start of the reply or right after a call: where a bare JSON call may begin. */
  private atBoundary = true;
  /** Whitespace between calls and after the last one is dropped, as Ollama's parsers do. */
  private afterCall = false;
  private nextIndex = 0;

  constructor(private readonly spec: ToolFormatSpec) {}

  push(text: string): ToolParseResult {
    this.buffer += text;
    return this.drain(false);
  }

  flush(): ToolParseResult {
    return this.drain(true);
  }

  private drain(final: boolean): ToolParseResult {
    const out: ToolParseResult = { content: "", toolCalls: [] };
    while (this.openMarker === null ? this.readContent(out, final) : this.readCall(out, final));
    return out;
  }

  /** One step in content mode; true when the buffer changed state and should be looked at again. */
  private readContent(out: ToolParseResult, final: boolean): boolean {
    if (this.atBoundary) {
      const first = skipWhitespace(this.buffer);
      if (first === this.buffer.length) {
        if (final) this.release(out, this.afterCall ? "" : this.buffer);
        if (final) this.buffer = "";
        return false;
      }
      this.atBoundary = false;
      if (this.spec.bareJson && (this.buffer[first] === "{" || this.buffer[first] === "[")) {
        this.openMarker = this.buffer.slice(0, first);
        this.buffer = this.buffer.slice(first);
        return true;
      }
      if (this.afterCall) this.buffer = this.buffer.slice(first);
      this.afterCall = false;
    }
    const found = this.findMarker();
    if (found) {
      // Whitespace between the prose and the call belongs to neither (Ollama trims it too).
      // If the call turns out invalid, marker and whitespace go back out with it (openMarker keeps both).
      const before = this.buffer.slice(0, found.at);
      const prose = before.trimEnd();
      this.release(out, prose);
      this.buffer = this.buffer.slice(found.at + found.marker.length);
      this.openMarker = before.slice(prose.length) + found.marker;
      return true;
    }
    // Hold back a possible marker start and the whitespace before it (trimmed if a call follows).
    const partial = final ? 0 : partialMarkerLength(this.buffer, this.spec.starts);
    const hold = final ? 0 : partial + trailingWhitespaceLength(this.buffer.slice(0, this.buffer.length - partial));
    this.release(out, this.buffer.slice(0, this.buffer.length - hold));
    this.buffer = this.buffer.slice(this.buffer.length - hold);
    return false;
  }

  /** One step in call mode; true when the call was settled (emitted or released). */
  private readCall(out: ToolParseResult, final: boolean): boolean {
    const marker = this.openMarker ?? "";
    const end = this.spec.end;
    let bodyLength: number | undefined;
    let closing = "";
    if (end !== null) {
      const at = this.buffer.indexOf(end);
      if (at >= 0) {
        bodyLength = at;
        closing = end;
      }
    } else {
      const result = this.spec.bodyEnd!(this.buffer);
      if (result === "invalid") {
        // Not a call after all: the marker is ordinary text, and what follows is read as content again.
        this.release(out, marker);
        this.openMarker = null;
        this.atBoundary = false;
        this.afterCall = false;
        return true;
      }
      if (result !== "incomplete") bodyLength = result;
    }
    if (bodyLength === undefined) {
      if (!final) return false;
      bodyLength = this.buffer.length; // cut off (max tokens, or no end token): try what there is
    }
    const body = this.buffer.slice(0, bodyLength);
    this.buffer = this.buffer.slice(bodyLength + closing.length);
    this.openMarker = null;
    const calls = this.spec.decode(body);
    if (calls) this.emit(out, calls);
    else this.release(out, marker + body + closing);
    this.atBoundary = calls !== undefined;
    this.afterCall = calls !== undefined;
    return true;
  }

  private findMarker(): { at: number; marker: string } | undefined {
    let best: { at: number; marker: string } | undefined;
    for (const marker of this.spec.starts) {
      const at = this.buffer.indexOf(marker);
      if (at >= 0 && (!best || at < best.at)) best = { at, marker };
    }
    return best;
  }

  private release(out: ToolParseResult, text: string): void {
    out.content += text;
  }

  private emit(out: ToolParseResult, calls: ParsedCall[]): void {
    for (const call of calls) {
      out.toolCalls.push({ function: { index: this.nextIndex++, name: call.name, arguments: call.arguments } });
    }
  }
}
