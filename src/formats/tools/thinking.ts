// Splitting a reply's thinking from its content, streamed. Behaviour follows Ollama's thinking.Parser:
// the open tag counts only at the start of the reply (after whitespace); once thinking ends, or the
// reply starts with anything else, the rest is content and tags in it are left alone. A template that
// already opened the block in the prompt (Qwen3 with enable_thinking, DeepSeek-R1) starts inside it.

export interface ThinkingTags {
  open: string;
  close: string;
}

export const THINK_TAGS: ThinkingTags = { open: "<think>", close: "</think>" };

// Tag pairs models use, as in mlx-lm's _infer_thinking and Ollama's parsers.
const KNOWN_TAGS: ThinkingTags[] = [
  THINK_TAGS,
  { open: "<longcat_think>", close: "</longcat_think>" },
  { open: "<|think:start|>", close: "<|think:end|>" },
  { open: "[THINK]", close: "[/THINK]" }, // Magistral / Ministral
  { open: "<|channel>thought", close: "<channel|>" }, // Gemma 4
  // gpt-oss's harmony analysis channel: found here so the model counts as thinking; routes/reply.ts reads harmony
  // replies with formats/tools/harmony.ts, not with these tags
  { open: "<|channel|>analysis<|message|>", close: "<|end|>" },
];

/** The thinking tags a chat template uses, or undefined when it has none. */
export function detectThinkingTags(chatTemplate: string): ThinkingTags | undefined {
  return KNOWN_TAGS.find((tags) => chatTemplate.includes(tags.open) && chatTemplate.includes(tags.close));
}

/** Whether the rendered prompt leaves the model inside an open thinking block. */
export function promptOpensThinking(renderedPrompt: string, tags: ThinkingTags = THINK_TAGS): boolean {
  return renderedPrompt.trimEnd().endsWith(tags.open);
}

export interface ThinkingParseResult {
  thinking: string;
  content: string;
}

type State = "start" | "thinking" | "afterThinking" | "content";

export class ThinkingSplitter {
  private state: State;
  private buffer = "";
  /** Whether any thinking text has gone out (leading whitespace is dropped only before that). */
  private thoughtStarted = false;

  constructor(
    private readonly tags: ThinkingTags = THINK_TAGS,
    startInThinking = false,
  ) {
    this.state = startInThinking ? "thinking" : "start";
  }

  push(text: string): ThinkingParseResult {
    this.buffer += text;
    return this.drain(false);
  }

  /** End of generation: whatever is held is released to the side it was on. */
  flush(): ThinkingParseResult {
    return this.drain(true);
  }

  private drain(final: boolean): ThinkingParseResult {
    const out: ThinkingParseResult = { thinking: "", content: "" };
    while (this.step(out, final));
    return out;
  }

  private step(out: ThinkingParseResult, final: boolean): boolean {
    const { open, close } = this.tags;
    switch (this.state) {
      case "start": {
        const trimmed = this.buffer.trimStart();
        if (trimmed.startsWith(open)) {
          this.buffer = trimmed.slice(open.length);
          this.state = "thinking";
          return true;
        }
        if (open.startsWith(trimmed) && !final) return false; // maybe the tag, not yet whole
        this.state = "content";
        return true;
      }
      case "thinking": {
        // Leading whitespace of the thought is dropped, as Ollama does.
        if (!this.thoughtStarted) this.buffer = this.buffer.trimStart();
        if (this.buffer !== "") this.thoughtStarted = true;
        const at = this.buffer.indexOf(close);
        if (at >= 0) {
          out.thinking += this.buffer.slice(0, at);
          this.buffer = this.buffer.slice(at + close.length);
          this.state = "afterThinking";
          return true;
        }
        const hold = final ? 0 : partialSuffix(this.buffer, close);
        out.thinking += this.buffer.slice(0, this.buffer.length - hold);
        this.buffer = this.buffer.slice(this.buffer.length - hold);
        return false;
      }
      case "afterThinking": {
        // Whitespace between </think> and the answer is dropped.
        this.buffer = this.buffer.trimStart();
        if (this.buffer === "") return false;
        this.state = "content";
        return true;
      }
      case "content":
        out.content += this.buffer;
        this.buffer = "";
        return false;
    }
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of `tag`. */
function partialSuffix(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}

/**
 * An earlier assistant turn without its thinking, as templates render history (Qwen3's template keeps
 * what follows the last </think>, left-trimmed). Text with no close tag is returned unchanged.
 */
export function stripThinking(text: string, tags: ThinkingTags = THINK_TAGS): string {
  const at = text.lastIndexOf(tags.close);
  if (at < 0) return text;
  return text.slice(at + tags.close.length).trimStart();
}
