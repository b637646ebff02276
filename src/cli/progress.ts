// Ollama's progress display (progress/{progress,bar,spinner}.go): a stack of lines on stderr, each a spinner or a
// bar, redrawn in place every 100 ms on a terminal. Not on a terminal, each line is printed once, when it is done,
// so logs read "pulling manifest", "pulling abc123def456: 100% ▕██…▏ 2.6 GB", "success".
import { formatGoDuration } from "../api/duration.ts";
import type { ProgressResponse } from "../schemas/index.ts";
import { humanBytes } from "./format.ts";

const DEFAULT_WIDTH = 80;
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export interface ProgressLine {
  render(width: number, now: number): string;
  /** Done lines no longer change (a stopped spinner, a full bar). */
  readonly done: boolean;
  stop(now?: number): void;
}

const pad = (n: number) => " ".repeat(Math.max(0, n));

export class Spinner implements ProgressLine {
  private stoppedAt = 0;
  private readonly started = Date.now();
  constructor(public message: string) {}

  get done(): boolean {
    return this.stoppedAt !== 0;
  }

  stop(now = Date.now()): void {
    if (!this.stoppedAt) this.stoppedAt = now;
  }

  render(_width: number, now: number): string {
    let out = this.message ? `${this.message.trim()} ` : "";
    if (!this.stoppedAt) out += `${FRAMES[Math.floor((now - this.started) / 100) % FRAMES.length]} `;
    return out;
  }
}

/** progress/bar.go formatDuration: time left as "1m3s", "2h5m", "99h+". */
function formatRemaining(seconds: number): string {
  if (seconds >= 100 * 3600) return "99h+";
  if (seconds >= 3600) return `${Math.trunc(seconds / 3600)}h${Math.trunc(seconds / 60) % 60}m`;
  return formatGoDuration(BigInt(Math.round(seconds)) * 1_000_000_000n);
}

export class Bar implements ProgressLine {
  private current: number;
  private stoppedAt = 0;
  private readonly started: number;
  /** One sample a second, the last ten: the rate is measured over them (progress/bar.go buckets). */
  private buckets: { at: number; value: number }[] = [];

  constructor(
    readonly message: string,
    readonly total: number,
    private readonly initial: number,
    now = Date.now(),
  ) {
    this.current = initial;
    this.started = now;
    if (initial >= total) this.stoppedAt = now;
  }

  get done(): boolean {
    return this.stoppedAt !== 0;
  }

  stop(): void {}

  set(value: number, now = Date.now()): void {
    this.current = Math.min(value, this.total);
    if (this.current >= this.total && !this.stoppedAt) this.stoppedAt = now;
    const last = this.buckets.at(-1);
    if (last && now - last.at < 1000) return;
    this.buckets.push({ at: now, value: this.current });
    if (this.buckets.length > 10) this.buckets.shift();
  }

  private percent(): number {
    return this.total > 0 ? (this.current / this.total) * 100 : 0;
  }

  /** Bytes a second; Go rounds the interval to whole seconds, so under a second there is no rate yet. */
  rate(): number {
    let numerator = 0;
    let seconds = 0;
    if (this.stoppedAt) {
      numerator = this.current - this.initial;
      seconds = Math.round((this.stoppedAt - this.started) / 1000);
    } else if (this.buckets.length === 1) {
      numerator = this.buckets[0]!.value - this.initial;
      seconds = Math.round((this.buckets[0]!.at - this.started) / 1000);
    } else if (this.buckets.length > 1) {
      const first = this.buckets[0]!;
      const last = this.buckets.at(-1)!;
      numerator = last.value - first.value;
      seconds = Math.round((last.at - first.at) / 1000);
    }
    return seconds !== 0 ? numerator / seconds : 0;
  }

  render(width: number): string {
    let pre = this.message ? `${this.message.trim()} ` : "";
    pre += `${Math.floor(this.percent())}%`.padStart(4);
    let suf = "";
    if (!this.stoppedAt) {
      const cur = humanBytes(this.current);
      const max = humanBytes(this.total);
      suf += pad(6 - cur.length) + cur + "/" + max + pad(6 - max.length);
    } else {
      const max = humanBytes(this.total);
      suf += pad(6 - max.length) + max + pad(7);
    }
    const rate = this.rate();
    if (!this.stoppedAt && rate > 0) {
      const human = humanBytes(Math.trunc(rate));
      suf += "  " + pad(6 - human.length) + human + "/s";
      const remaining = formatRemaining(Math.trunc((this.total - this.current) / rate));
      suf += "  " + pad(6 - remaining.length) + remaining;
    } else {
      suf += pad(10) + pad(8);
    }
    // the bar takes what is left: a space and a boundary each side, and the last column free
    const room = width - [...pre].length - suf.length - 5;
    let bar = pre;
    if (room > 0) {
      const filled = Math.trunc((room * this.percent()) / 100);
      bar += " ▕" + "█".repeat(filled) + " ".repeat(room - filled) + "▏ ";
    }
    return bar + suf;
  }
}

export class Progress {
  private lines: ProgressLine[] = [];
  private printed = 0; // plain mode: lines already written
  private drawn = 0; // terminal mode: lines on screen
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty: boolean = Boolean(process.stderr.isTTY),
  ) {}

  private width(): number {
    return this.tty ? this.out.columns || DEFAULT_WIDTH : DEFAULT_WIDTH;
  }

  add(line: ProgressLine): void {
    if (this.stopped) return;
    this.lines.push(line);
    if (this.tty) {
      this.timer ??= setInterval(() => this.draw(), 100);
      this.draw();
    } else this.flushDone();
  }

  /** Plain mode: print every finished line up to the first unfinished one, in order. */
  private flushDone(all = false): void {
    while (this.printed < this.lines.length && (all || this.lines[this.printed]!.done)) {
      this.out.write(this.lines[this.printed]!.render(this.width(), Date.now()).trimEnd() + "\n");
      this.printed++;
    }
  }

  /** Call after changing a line (a bar's value, a spinner stopped). */
  update(): void {
    if (!this.tty) this.flushDone();
  }

  private draw(): void {
    if (!this.lines.length) return;
    let frame = "\x1b[?2026h\x1b[?25l";
    if (this.drawn > 1) frame += `\x1b[${this.drawn - 1}A`;
    frame += "\x1b[1G";
    const now = Date.now();
    frame += this.lines.map((l) => l.render(this.width(), now) + "\x1b[K").join("\n");
    frame += "\x1b[?25h\x1b[?2026l";
    this.drawn = this.lines.length;
    this.out.write(frame);
  }

  private halt(): boolean {
    if (this.stopped) return false;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const line of this.lines) line.stop();
    return true;
  }

  /** Final state of every line stays on screen. */
  stop(): void {
    if (!this.halt()) return;
    if (this.tty) {
      this.draw();
      if (this.drawn) this.out.write("\n");
    } else this.flushDone(true);
  }

  /** Removes every line (the spinner before a model's first token). */
  stopAndClear(): void {
    if (!this.halt()) return;
    if (!this.tty || !this.drawn) return;
    let clear = "\x1b[?25l";
    for (let i = 0; i < this.drawn; i++) clear += (i > 0 ? "\x1b[A" : "") + "\x1b[2K\x1b[1G";
    this.out.write(clear + "\x1b[?25h");
    this.drawn = 0;
  }
}

/**
 * Turns a pull/push/create progress stream into lines: a spinner per new status, a bar per digest (cmd.go's
 * PullHandler `fn`). `barLabel` names a digest's bar; pulls skip a layer's first, 0-byte update as Ollama does.
 */
export class StatusLines {
  private status = "";
  private spinner: Spinner | undefined;
  private readonly bars = new Map<string, Bar>();

  constructor(
    private readonly progress: Progress,
    private readonly barLabel: (p: ProgressResponse) => string,
    private readonly skipEmptyBars = false,
  ) {}

  private stopSpinner(): void {
    this.spinner?.stop();
    this.progress.update();
  }

  add = (p: ProgressResponse): void => {
    if (p.digest) {
      if (this.skipEmptyBars && !p.completed) return;
      this.stopSpinner();
      let bar = this.bars.get(p.digest);
      if (!bar) {
        bar = new Bar(this.barLabel(p), p.total ?? 0, p.completed ?? 0);
        this.bars.set(p.digest, bar);
        this.progress.add(bar);
      }
      bar.set(p.completed ?? 0);
      this.progress.update();
    } else if (p.status !== this.status) {
      this.stopSpinner();
      this.status = p.status;
      this.spinner = new Spinner(p.status);
      this.progress.add(this.spinner);
    }
  };
}

/** "sha256:abc…" → the 12 hex digits Ollama shows. */
export function shortDigest(digest: string): string {
  const hex = digest.startsWith("sha256:") ? digest.slice(7) : digest;
  return hex.trim().slice(0, 12);
}
