// Pull progress as Ollama streams it (server/images.go PullModel, §1.13 of the reference): statuses, and per layer
// {"status":"pulling <digest[7:19]>","digest","total","completed"}. Several layers download at once; their updates
// meet in one queue that the pull's async generator drains, each layer throttled to one update per interval.
import type { ProgressResponse } from "../schemas/models.ts";

export type { ProgressResponse };

/** Ollama's per-layer status: "pulling " + the 12 hex digits after "sha256:". */
export function pullingStatus(digest: string): string {
  return `pulling ${digest.slice(7, 19)}`;
}

/** How often one layer reports (Ollama ticks every 60 ms). */
export const PROGRESS_INTERVAL_MS = 80;

/** Receives a layer's byte count as it grows; the final call has completed === total. */
export type OnBytes = (completed: number, total: number) => void;

/**
 * A queue of progress objects fed by concurrent downloads and drained by one consumer. `run` starts the work; the
 * iterator yields every queued update and ends when the work settles (rethrowing its error after the updates).
 */
export class ProgressQueue {
  private items: ProgressResponse[] = [];
  private wake: (() => void) | null = null;
  private settled = false;
  private failure: { error: unknown } | null = null;

  push(p: ProgressResponse): void {
    this.items.push(p);
    this.notify();
  }

  /** A throttled reporter for one layer: first and last updates always go out, the ones between at most every interval. */
  layer(digest: string, intervalMs = PROGRESS_INTERVAL_MS): OnBytes {
    let last = -Infinity;
    let lastCompleted = -1;
    return (completed, total) => {
      const now = performance.now();
      const final = completed >= total;
      if (completed === lastCompleted || (!final && lastCompleted >= 0 && now - last < intervalMs)) return;
      last = now;
      lastCompleted = completed;
      // Ollama's ProgressResponse has total and completed `omitempty`: a layer's first report has no completed.
      this.push({ status: pullingStatus(digest), digest, ...(total ? { total } : {}), ...(completed ? { completed } : {}) });
    };
  }

  /** Runs the work; the queue ends when it settles. */
  run(work: Promise<unknown>): this {
    work.then(
      () => this.finish(null),
      (error: unknown) => this.finish({ error }),
    );
    return this;
  }

  private finish(failure: { error: unknown } | null): void {
    this.settled = true;
    this.failure = failure;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ProgressResponse> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.settled) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
