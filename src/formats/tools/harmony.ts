// OpenAI's harmony format (gpt-oss): the reply is a run of messages, each a header, <|message|>, a body, and an end
// token. The header names a channel and may address a recipient:
//   <|channel|>analysis<|message|>…<|end|>                      the model's reasoning: thinking
//   <|start|>assistant<|channel|>final<|message|>…<|return|>    the answer: content
//   <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{…}<|call|>   a tool call (JSON arguments)
// (the recipient may also come before the channel: `assistant to=functions.NAME<|channel|>commentary json`).
// A commentary message with no recipient (a preamble to the user) is content, as Ollama's harmony parser has it.
// <|return|> and <|call|> are stop tokens, so the last message usually ends with the text itself. A reply that does
// not open with a harmony token at all is plain content.
import { isPlainObject, tryParseJson } from "./json-scan.ts";
import type { ParsedCall } from "./parsed-call.ts";

const MESSAGE = "<|message|>";
const ENDS = ["<|end|>", "<|return|>", "<|call|>"];

/** Whether a chat template writes harmony (gpt-oss's): its channel and message tokens. */
export function isHarmonyTemplate(chatTemplate: string): boolean {
  return chatTemplate.includes("<|channel|>") && chatTemplate.includes(MESSAGE);
}

export interface HarmonyParts {
  thinking: string;
  content: string;
  /** index: the call's position among the reply's calls */
  toolCalls: (ParsedCall & { index: number })[];
}

type Body = { to: "thinking" | "content" } | { to: "call"; name: string; text: string };

export class HarmonyParser {
  private buffer = "";
  /** null: reading a header; otherwise where the current message's body goes */
  private body: Body | null = null;
  private plain = false;
  private started = false;
  private calls = 0;

  /** tools: whether calls are parsed (tools were offered); otherwise a call's text is content. */
  constructor(private readonly tools: boolean) {}

  push(text: string): HarmonyParts {
    this.buffer += text;
    return this.drain(false);
  }

  flush(): HarmonyParts {
    return this.drain(true);
  }

  private drain(final: boolean): HarmonyParts {
    const out: HarmonyParts = { thinking: "", content: "", toolCalls: [] };
    while (this.step(out, final));
    return out;
  }

  private step(out: HarmonyParts, final: boolean): boolean {
    if (this.plain) {
      out.content += this.buffer;
      this.buffer = "";
      return false;
    }
    if (!this.started) {
      const head = this.buffer.trimStart();
      if (head === "" || ("<|".startsWith(head) && !final)) return false;
      this.started = true;
      if (!head.startsWith("<|")) this.plain = true;
      return true;
    }
    if (this.body === null) {
      const at = this.buffer.indexOf(MESSAGE);
      if (at < 0) {
        // an unfinished header is dropped at the end: it carries no text of the reply
        if (final) this.buffer = "";
        return false;
      }
      this.body = this.route(this.buffer.slice(0, at));
      this.buffer = this.buffer.slice(at + MESSAGE.length);
      return true;
    }
    const end = firstEnd(this.buffer);
    const bodyText = end ? this.buffer.slice(0, end.at) : this.buffer.slice(0, this.buffer.length - (final ? 0 : heldBack(this.buffer)));
    this.buffer = end ? this.buffer.slice(end.at + end.marker.length) : this.buffer.slice(bodyText.length);
    const body = this.body;
    if (body.to === "call") body.text += bodyText;
    else out[body.to] += bodyText;
    if (!end && !final) return false;
    if (body.to === "call") this.finishCall(body, out);
    this.body = null;
    return end !== undefined;
  }

  /** Where a message with this header goes. */
  private route(header: string): Body {
    const channel = /<\|channel\|>\s*([A-Za-z_]+)/.exec(header)?.[1];
    const recipient = /\bto=([^\s<]+)/.exec(header)?.[1];
    if (channel === "analysis") return { to: "thinking" };
    if (recipient?.startsWith("functions.") && this.tools) return { to: "call", name: recipient.slice("functions.".length), text: "" };
    return { to: "content" };
  }

  /** A call's arguments are a JSON object; anything else goes out as content, as the other formats release it. */
  private finishCall(body: Extract<Body, { to: "call" }>, out: HarmonyParts): void {
    const text = body.text.trim();
    const args = text === "" ? {} : tryParseJson(text);
    if (isPlainObject(args)) out.toolCalls.push({ index: this.calls++, name: body.name, arguments: args });
    else out.content += body.text;
  }
}

function firstEnd(text: string): { at: number; marker: string } | undefined {
  let best: { at: number; marker: string } | undefined;
  for (const marker of ENDS) {
    const at = text.indexOf(marker);
    if (at >= 0 && (!best || at < best.at)) best = { at, marker };
  }
  return best;
}

/** Length of the longest suffix of `text` that may be the start of an end token (or of the next header). */
function heldBack(text: string): number {
  for (let n = Math.min(text.length, Math.max(...ENDS.map((m) => m.length)) - 1); n > 0; n--) {
    const tail = text.slice(text.length - n);
    if (ENDS.some((m) => m.startsWith(tail))) return n;
  }
  return 0;
}
