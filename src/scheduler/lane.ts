// One request at a time on a runner, in arrival order. A waiter whose client goes away leaves the line.
import { RequestCanceledError } from "../api/errors.ts";

interface Waiter {
  grant(): void;
}

export class Lane {
  private busy = false;
  private readonly line: Waiter[] = [];

  /** Requests waiting for their turn (not counting the one being served). */
  get waiting(): number {
    return this.line.length;
  }

  get idle(): boolean {
    return !this.busy && this.line.length === 0;
  }

  /** Resolves with the release function when it is this caller's turn; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new RequestCanceledError());
    if (!this.busy) {
      this.busy = true;
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
      else this.busy = false;
    };
  }
}
