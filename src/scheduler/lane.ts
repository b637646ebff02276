// Up to `slots` requests at a time on a runner (OLLAMA_NUM_PARALLEL: the runner batches their decode steps), the
// rest waiting in arrival order. A waiter whose client goes away leaves the line.
import { RequestCanceledError } from "../api/errors.ts";

interface Waiter {
  grant(): void;
}

export class Lane {
  private active = 0;
  private readonly line: Waiter[] = [];

  constructor(readonly slots = 1) {
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`a lane needs at least one slot, not ${slots}`);
  }

  /** Requests waiting for their turn (not counting the one being served). */
  get waiting(): number {
    return this.line.length;
  }

  get idle(): boolean {
    return this.active === 0 && this.line.length === 0;
  }

  /** Resolves with the release function when it is this caller's turn; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new RequestCanceledError());
    if (this.active < this.slots) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const index = this.line.indexOf(waiter);
        if (index >= 0) this.line.splice(index, 1);
        reject(new RequestCanceledError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.line.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.line.shift();
      if (next) next.grant();
      else this.active--;
    };
  }
}
