// What `run` and its interactive session share: the options of a run, the --think value, and how a streamed
// answer reaches the screen (thinking between markers, content word-wrapped) until it ends or Ctrl-C cancels it.
import type { Format, Message, Think, ThinkLevel } from "../schemas/index.ts";
import { isAbort } from "./client.ts";
import { thinkingClosing, thinkingOpening, WordWrapper } from "./display.ts";

export interface RunOptions {
  model: string;
  parentModel: string;
  prompt: string;
  format?: Format;
  think?: Think;
  hideThinking: boolean;
  keepAlive?: string | number;
  verbose: boolean;
  wordWrap: boolean;
  system: string;
  options: Record<string, unknown>;
  messages: Message[];
}

const THINK_LEVELS: readonly ThinkLevel[] = ["high", "medium", "low", "max"];

export function parseThink(value: string): Think {
  if (value === "" || value === "true") return true;
  if (value === "false") return false;
  if ((THINK_LEVELS as readonly string[]).includes(value)) return value as ThinkLevel;
  throw new Error(`invalid value for --think: "${value}" (must be true, false, high, medium, or low)`);
}

/** Prints a streamed answer: thinking between markers (unless hidden), content word-wrapped. */
export class AnswerPrinter {
  private thinkingOpen = false;
  private thinkingText = "";
  private wrapper: WordWrapper;
  content = "";
  thinking = "";
  printed = false;

  constructor(
    private readonly opts: Pick<RunOptions, "hideThinking" | "wordWrap">,
    private readonly plain: boolean,
    private readonly write: (text: string) => void = (t) => process.stdout.write(t),
  ) {
    this.wrapper = this.newWrapper();
  }

  private newWrapper(): WordWrapper {
    const width = this.opts.wordWrap && process.stdout.isTTY ? process.stdout.columns || 0 : 0;
    return new WordWrapper(this.write, width);
  }

  add(thinking: string | undefined, content: string): void {
    if (thinking) {
      this.thinking += thinking;
      if (!this.opts.hideThinking) {
        if (!this.thinkingOpen) {
          this.write(thinkingOpening(this.plain));
          this.thinkingOpen = true;
        }
        this.thinkingText += thinking;
        this.wrapper.push(thinking);
        this.printed = true;
      }
    }
    if (this.thinkingOpen && content) {
      if (!this.thinkingText.endsWith("\n")) this.write("\n");
      this.write(thinkingClosing(this.plain));
      this.thinkingOpen = false;
      this.wrapper = this.newWrapper();
    }
    if (content) {
      this.content += content;
      this.wrapper.push(content);
      this.printed = true;
    }
  }
}

/**
 * Hands each chunk to `onChunk`; "cancelled" when Ctrl-C (SIGINT) aborted `signal`: the aborted fetch closes the
 * connection and the server stops generating.
 */
export async function streamWithInterrupt<T>(chunks: AsyncIterable<T>, onChunk: (chunk: T) => void, signal: AbortSignal): Promise<"done" | "cancelled"> {
  try {
    for await (const chunk of chunks) onChunk(chunk);
    return "done";
  } catch (error) {
    if (isAbort(error) || signal.aborted) return "cancelled";
    throw error;
  }
}
