// A small line editor over raw stdin for the interactive session. Our own rather than node:readline because the
// session needs what readline does not give: Ctrl-C returning the half-typed line (and, while the model answers,
// stopping it without ending the session), keys typed during an answer kept for the next prompt, a grey placeholder,
// and a history file we decide when to write (OLLAMA_NOHISTORY, /set nohistory).
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { GREY, RESET, stringWidth } from "./display.ts";

export type ReadResult = { kind: "line"; text: string } | { kind: "interrupt"; text: string } | { kind: "eof" };

const HISTORY_LIMIT = 100;

/** Entered lines, oldest first, kept in a file (one a line) when saving is on. */
export class History {
  entries: string[] = [];
  saving: boolean;

  constructor(
    private readonly path: string | undefined,
    enabled: boolean,
  ) {
    this.saving = enabled && path !== undefined;
    if (this.saving && existsSync(path!)) {
      this.entries = readFileSync(path!, "utf8").split("\n").filter(Boolean).slice(-HISTORY_LIMIT);
    }
  }

  add(line: string): void {
    if (!line.trim() || this.entries.at(-1) === line) return;
    this.entries.push(line);
    if (!this.saving || !this.path) return;
    mkdirSync(dirname(this.path), { recursive: true });
    if (this.entries.length > HISTORY_LIMIT) {
      this.entries = this.entries.slice(-HISTORY_LIMIT);
      writeFileSync(this.path, this.entries.join("\n") + "\n");
    } else appendFileSync(this.path, line + "\n");
  }
}

/** Key sequences the editor understands; anything else printable is typed text. */
const SEQUENCES: [string, string][] = [
  ["\x1b[A", "up"],
  ["\x1b[B", "down"],
  ["\x1b[C", "right"],
  ["\x1b[D", "left"],
  ["\x1b[H", "home"],
  ["\x1b[F", "end"],
  ["\x1bOH", "home"],
  ["\x1bOF", "end"],
  ["\x1b[1~", "home"],
  ["\x1b[4~", "end"],
  ["\x1b[3~", "delete"],
  ["\x1bb", "word-left"],
  ["\x1bf", "word-right"],
  ["\r\n", "enter"],
];
const CONTROL: Record<string, string> = {
  "\r": "enter",
  "\n": "enter",
  "\x7f": "backspace",
  "\b": "backspace",
  "\x01": "home",
  "\x05": "end",
  "\x02": "left",
  "\x06": "right",
  "\x10": "up",
  "\x0e": "down",
  "\x0b": "kill-end",
  "\x15": "kill-start",
  "\x17": "kill-word",
  "\x0c": "clear",
  "\x03": "interrupt",
  "\x04": "eof",
};

export interface PromptText {
  prompt: string;
  placeholder: string;
}

export class LineEditor {
  private pending = "";
  private buffer: string[] = [];
  private cursor = 0;
  private cursorRow = 0;
  private historyPos = 0;
  private draft = "";
  private current: { prompt: PromptText; resolve: (r: ReadResult) => void } | undefined;
  /** While the model answers: called on Ctrl-C; other keys wait for the next prompt. */
  private interruptHandler: (() => void) | undefined;
  private readonly onData = (data: Buffer | string) => {
    this.pending += data.toString();
    this.pump();
  };

  constructor(
    readonly history: History,
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly output: NodeJS.WriteStream = process.stdout,
  ) {}

  start(): void {
    this.input.setRawMode(true);
    this.input.on("data", this.onData);
    this.input.resume();
  }

  close(): void {
    this.input.off("data", this.onData);
    this.input.setRawMode(false);
    this.input.pause();
  }

  /** Between prompts (the model answering): Ctrl-C calls `handler`. */
  onInterrupt(handler: (() => void) | undefined): void {
    this.interruptHandler = handler;
    this.pump();
  }

  readLine(prompt: PromptText): Promise<ReadResult> {
    this.buffer = [];
    this.cursor = 0;
    this.cursorRow = 0;
    this.historyPos = this.history.entries.length;
    return new Promise((resolve) => {
      this.current = { prompt, resolve };
      this.render();
      this.pump();
    });
  }

  private nextKey(): string | undefined {
    if (!this.pending) return undefined;
    for (const [seq, name] of SEQUENCES) {
      if (this.pending.startsWith(seq)) {
        this.pending = this.pending.slice(seq.length);
        return name;
      }
    }
    if (this.pending[0] === "\x1b") {
      // an escape sequence we do not know: drop it whole (ESC [ params final-byte)
      const m = /^\x1b(\[[0-9;?]*[ -/]*[@-~]|O.|.)?/s.exec(this.pending)!;
      this.pending = this.pending.slice(m[0].length);
      return "ignored";
    }
    const ch = String.fromCodePoint(this.pending.codePointAt(0)!);
    this.pending = this.pending.slice(ch.length);
    return CONTROL[ch] ?? (ch < " " ? "ignored" : `char:${ch}`);
  }

  private pump(): void {
    if (!this.current) {
      if (!this.interruptHandler) return;
      const at = this.pending.indexOf("\x03");
      if (at >= 0) {
        this.pending = this.pending.slice(0, at) + this.pending.slice(at + 1);
        this.interruptHandler();
      }
      return;
    }
    let key: string | undefined;
    let changed = false;
    while (this.current && (key = this.nextKey()) !== undefined) changed = this.handle(key) || changed;
    if (changed && this.current) this.render();
  }

  private finish(result: ReadResult): void {
    this.cursor = this.buffer.length;
    this.render(false);
    this.output.write("\r\n");
    const done = this.current!.resolve;
    this.current = undefined;
    done(result);
  }

  /** Applies one key; true when the line needs redrawing. */
  private handle(key: string): boolean {
    const text = this.buffer.join("");
    switch (key) {
      case "enter":
        this.history.add(text);
        this.finish({ kind: "line", text });
        return false;
      case "interrupt":
        this.finish({ kind: "interrupt", text });
        return false;
      case "eof":
        if (this.buffer.length === 0) {
          this.finish({ kind: "eof" });
          return false;
        }
        this.buffer.splice(this.cursor, 1);
        break;
      case "backspace":
        if (this.cursor > 0) this.buffer.splice(--this.cursor, 1);
        break;
      case "delete":
        this.buffer.splice(this.cursor, 1);
        break;
      case "left":
        this.cursor = Math.max(0, this.cursor - 1);
        break;
      case "right":
        this.cursor = Math.min(this.buffer.length, this.cursor + 1);
        break;
      case "home":
        this.cursor = 0;
        break;
      case "end":
        this.cursor = this.buffer.length;
        break;
      case "word-left":
        while (this.cursor > 0 && this.buffer[this.cursor - 1] === " ") this.cursor--;
        while (this.cursor > 0 && this.buffer[this.cursor - 1] !== " ") this.cursor--;
        break;
      case "word-right":
        while (this.cursor < this.buffer.length && this.buffer[this.cursor] === " ") this.cursor++;
        while (this.cursor < this.buffer.length && this.buffer[this.cursor] !== " ") this.cursor++;
        break;
      case "kill-end":
        this.buffer.splice(this.cursor);
        break;
      case "kill-start":
        this.buffer.splice(0, this.cursor);
        this.cursor = 0;
        break;
      case "kill-word": {
        let start = this.cursor;
        while (start > 0 && this.buffer[start - 1] === " ") start--;
        while (start > 0 && this.buffer[start - 1] !== " ") start--;
        this.buffer.splice(start, this.cursor - start);
        this.cursor = start;
        break;
      }
      case "up":
      case "down":
        this.browseHistory(key === "up" ? -1 : 1);
        break;
      case "clear":
        this.output.write("\x1b[H\x1b[2J");
        this.cursorRow = 0;
        break;
      case "ignored":
        return false;
      default:
        this.buffer.splice(this.cursor++, 0, key.slice(5));
    }
    return true;
  }

  private browseHistory(step: number): void {
    const entries = this.history.entries;
    const next = this.historyPos + step;
    if (next < 0 || next > entries.length) return;
    if (this.historyPos === entries.length) this.draft = this.buffer.join("");
    this.historyPos = next;
    this.buffer = [...(next === entries.length ? this.draft : entries[next]!)];
    this.cursor = this.buffer.length;
  }

  /** Redraws prompt and buffer from the prompt's first row, wrapping at the terminal's width. */
  private render(placeholder = true): void {
    const { prompt, placeholder: hint } = this.current!.prompt;
    const cols = this.output.columns || 80;
    let out = (this.cursorRow > 0 ? `\x1b[${this.cursorRow}A` : "") + "\r\x1b[J" + prompt + this.buffer.join("");
    const promptWidth = stringWidth(prompt);
    const end = promptWidth + stringWidth(this.buffer.join(""));
    if (placeholder && this.buffer.length === 0 && hint) out += `${GREY}${hint}${RESET}\x1b[${stringWidth(hint)}D`;
    if (end > 0 && end % cols === 0) out += "\r\n"; // the terminal waits at the margin; step onto the next row
    const at = promptWidth + stringWidth(this.buffer.slice(0, this.cursor).join(""));
    const up = Math.floor(end / cols) - Math.floor(at / cols);
    if (up > 0) out += `\x1b[${up}A`;
    out += "\r" + (at % cols > 0 ? `\x1b[${at % cols}C` : "");
    this.cursorRow = Math.floor(at / cols);
    this.output.write(out);
  }
}
