/** A single-consumer async queue: producers push, one `for await` drains, `close` ends it. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | null = null;
  private closed = false;
  private failure: Error | null = null;
  private failWaiter: ((e: Error) => void) | null = null;

  push(item: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = this.failWaiter = null;
      w({ value: item, done: false });
    } else this.items.push(item);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = this.failWaiter = null;
      w({ value: undefined, done: true });
    }
  }

  /** Ends the queue with an error: the consumer sees the buffered items, then the error. */
  fail(err: Error): void {
    if (this.closed) return;
    this.failure = err;
    this.closed = true;
    if (this.failWaiter) {
      const f = this.failWaiter;
      this.waiter = this.failWaiter = null;
      f(err);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.items.length > 0) {
        yield this.items.shift() as T;
        continue;
      }
      if (this.closed) {
        if (this.failure) throw this.failure;
        return;
      }
      const r = await new Promise<IteratorResult<T>>((resolve, reject) => {
        this.waiter = resolve;
        this.failWaiter = reject;
      });
      if (r.done) return;
      yield r.value;
    }
  }
}
