// A model with its runner process: the lane its requests queue on, how many requests hold it, and when it expires.
import type { StoredModel } from "../store/store.ts";
import { Lane } from "./lane.ts";
import { Runner, type RunnerProcess } from "./runner-process.ts";

/** setTimeout fires at once for delays past 2^31-1 ms; longer keep-alives re-arm in steps of this. */
const MAX_TIMER_MS = 2_147_483_647;

export class LoadedModel {
  readonly runner: Runner;
  readonly lane: Lane;
  /** Settles when the load finishes; rejects with the load's error. */
  ready!: Promise<void>;
  process: RunnerProcess | null = null;
  contextLength = 0;
  /** Requests that hold this model (waiting for their turn or generating). */
  refs = 0;
  /** How long the model stays loaded once idle: ms, Infinity = forever, 0 = unload when idle. */
  keepAliveMs: number;
  /** Epoch ms when an idle model unloads (Infinity: never); while in use, counted from now. */
  private expiry = Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly key: string,
    readonly model: StoredModel,
    keepAliveMs: number,
    runnerCommand?: string[],
    numParallel = 1,
  ) {
    this.lane = new Lane(numParallel);
    this.runner = new Runner(runnerCommand);
    this.keepAliveMs = keepAliveMs;
  }

  /** Loaded, and its process still alive (a crashed runner is dropped and the model loaded afresh). */
  get dead(): boolean {
    return this.process !== null && !this.process.alive;
  }

  get expiresAt(): number {
    return this.refs > 0 ? Date.now() + this.keepAliveMs : this.expiry;
  }

  hold(): void {
    this.refs++;
    this.clearTimer();
  }

  /** Drops one hold; when the last goes, starts the keep-alive clock and calls `expire` when it runs out. */
  letGo(expire: () => void): void {
    this.refs = Math.max(0, this.refs - 1);
    if (this.refs > 0) return;
    this.expiry = Date.now() + this.keepAliveMs;
    if (this.keepAliveMs <= 0) {
      expire();
      return;
    }
    if (this.keepAliveMs !== Infinity) this.arm(expire);
  }

  private arm(expire: () => void): void {
    this.clearTimer();
    const left = this.expiry - Date.now();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.refs > 0) return;
      if (this.expiry > Date.now()) this.arm(expire);
      else expire();
    }, Math.min(Math.max(0, left), MAX_TIMER_MS));
    this.timer.unref?.();
  }

  clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async stop(): Promise<void> {
    this.clearTimer();
    this.process = null;
    await this.runner.stop().catch(() => {});
  }
}
