// Continuous batching of decode steps. Every sequence generating on a runner joins the runner's one DecodeBatch;
// each of its steps submits its next input token and gets back its own row of logits. A step runs as one forward
// pass over all the rows submitted together (model.forwardRows): on the CPU a decode step is bound by reading the
// weights, and a batch reads them once for all its rows.
//
// When it runs: as soon as every member has submitted. A member that is busy elsewhere (a context shift's prefill)
// holds nobody up: a step waits at most one turn of the event loop, then runs with the rows it has. Sequences join
// after their prompt is prefilled (in chunks, between decode steps) and leave when they finish, stop or are
// cancelled; the others never notice. Each row stays its sequence's own: its cache, its mask, its sampling.
import { concatenate, persist, reshape, scope, slice, type MxArray } from "../ffi/index.ts";
import type { LayerCache } from "../models/layers/kv-cache.ts";
import type { CausalLM } from "../models/model.ts";

interface Submission {
  input: MxArray;
  caches: LayerCache[];
  resolve(row: MxArray): void;
  reject(err: unknown): void;
}

export interface BatchMember extends Disposable {
  /** The next token's logits (1, vocab) after `input` (one token, shape [1]); the caller frees them. */
  step(input: MxArray, caches: LayerCache[]): Promise<MxArray>;
}

export class DecodeBatch {
  #members = new Set<object>();
  #pending: Submission[] = [];
  #timerArmed = false;
  /** steps run and rows they carried, for the stats */
  steps = 0;
  rows = 0;

  constructor(private readonly model: CausalLM) {}

  /** Sequences decoding now. */
  get size(): number {
    return this.#members.size;
  }

  join(): BatchMember {
    const id = {};
    this.#members.add(id);
    return {
      step: (input, caches) =>
        new Promise<MxArray>((resolve, reject) => {
          if (!this.#members.has(id)) return reject(new Error("this sequence has left the batch"));
          this.#pending.push({ input, caches, resolve, reject });
          this.#schedule();
        }),
      [Symbol.dispose]: () => {
        this.#members.delete(id);
        // The rest may all be waiting for this one.
        if (this.#pending.length > 0 && this.#pending.length >= this.#members.size) this.#run();
      },
    };
  }

  #schedule(): void {
    if (this.#pending.length >= this.#members.size) return this.#run();
    if (this.#timerArmed) return;
    this.#timerArmed = true;
    setImmediate(() => {
      this.#timerArmed = false;
      if (this.#pending.length > 0) this.#run();
    });
  }

  #run(): void {
    const batch = this.#pending;
    this.#pending = [];
    let rows: MxArray[];
    try {
      rows = scope(() => {
        const B = batch.length;
        const inputs = B === 1 ? batch[0]!.input : concatenate(batch.map((s) => s.input), 0);
        const logits = this.model.forwardRows(reshape(inputs, [B, 1]), batch.map((s) => s.caches));
        const V = logits.shape[2]!;
        return batch.map((_, b) => reshape(slice(logits, [b, 0, 0], [b + 1, 1, V]), [1, V]));
      });
    } catch (err) {
      for (const s of batch) s.reject(err);
      return;
    }
    this.steps++;
    this.rows += batch.length;
    batch.forEach((s, b) => s.resolve(persist(rows[b]!)));
  }
}
