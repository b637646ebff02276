// Continuous batching of decode steps. Every sequence generating on a runner joins the runner's one DecodeBatch;
// each of its steps submits its next input token and gets back its own row of logits. A step runs as one forward
// pass over all the rows submitted together (model.forwardRows): on the CPU a decode step is bound by reading the
// weights, and a batch reads them once for all its rows.
//
// When it runs: as soon as every member has submitted. A member that is busy elsewhere (a context shift's prefill)
// holds nobody up: a step waits at most one turn of the event loop, then runs with the rows it has. Sequences join
// after their prompt is prefilled (in chunks, between decode steps) and leave when they finish, stop or are
// cancelled; the others never notice. Each row stays its sequence's own: its positions, its mask, its sampling.
//
// While the same sequences step together, their full-attention caches live in one padded batch cache per layer
// (batch-cache.ts), so that a step updates and attends once per layer for every row; sliding-window ring buffers
// and recurrent states stay per row. When the batch changes (a sequence joins or leaves, or one sits a step out)
// every row gets its state back in its own caches and the next step builds the batch cache afresh.
//
// Prompts that arrive together are prefilled together too (prefill): chunks submitted in the same turn of the event
// loop run as one forward pass over their rows, padded on the right to the longest (the padding comes after each
// row's tokens, so the causal mask keeps it out of them) and then trimmed from each row's caches.
import { array, concatenate, eval as evalArrays, persist, reshape, scope, slice, type MxArray } from "../ffi/index.ts";
import { BatchKVCache } from "../models/layers/batch-cache.ts";
import { KVCache, type LayerCache } from "../models/layers/kv-cache.ts";
import type { CausalLM } from "../models/model.ts";
import type { DecodeBatchStats } from "./protocol.ts";

interface Submission {
  order: number;
  input: MxArray;
  caches: LayerCache[];
  resolve(row: MxArray): void;
  reject(err: unknown): void;
}

export interface BatchMember extends Disposable {
  /** The next token's logits (1, vocab) after `input` (one token, shape [1]); the caller frees them. */
  step(input: MxArray, caches: LayerCache[]): Promise<MxArray>;
  /** Puts the sequence's state back in its own caches: call before using them outside step (a context shift). */
  release(): void;
}

interface PrefillChunk {
  tokens: readonly number[];
  caches: LayerCache[];
  resolve(): void;
  reject(err: unknown): void;
}

/** The rows stepping together now, in order, and each layer's batch cache (null: that layer stays per row). */
interface Group {
  caches: LayerCache[][];
  shared: (BatchKVCache | null)[];
}

export class DecodeBatch {
  #members = new Set<object>();
  #pending: Submission[] = [];
  #group: Group | null = null;
  #joined = 0;
  #timerArmed = false;
  #prefills: PrefillChunk[] = [];
  /** prefill passes run and the chunks they carried, for the stats */
  prefillPasses = 0;
  prefillChunks = 0;
  /** steps run, rows they carried, and steps whose rows shared batch caches: for the stats */
  steps = 0;
  rows = 0;
  sharedSteps = 0;
  /** the most rows one step has carried */
  peakRows = 0;

  constructor(private readonly model: CausalLM) {}

  /** The counters above, as the runner's stats report them. */
  get stats(): DecodeBatchStats {
    const { steps, rows, peakRows, sharedSteps, prefillPasses, prefillChunks } = this;
    return { steps, rows, peakRows, sharedSteps, prefillPasses, prefillChunks };
  }

  /** Sequences decoding now. */
  get size(): number {
    return this.#members.size;
  }

  join(): BatchMember {
    const id = {};
    const order = this.#joined++;
    let mine: LayerCache[] | null = null;
    this.#members.add(id);
    const release = () => {
      if (mine && this.#group?.caches.includes(mine)) this.#ungroup(true);
    };
    return {
      step: (input, caches) =>
        new Promise<MxArray>((resolve, reject) => {
          if (!this.#members.has(id)) return reject(new Error("this sequence has left the batch"));
          mine = caches;
          this.#pending.push({ order, input, caches, resolve, reject });
          this.#schedule();
        }),
      release,
      [Symbol.dispose]: () => {
        release();
        this.#members.delete(id);
        // The rest may all be waiting for this one.
        if (this.#pending.length > 0 && this.#pending.length >= this.#members.size) this.#run();
      },
    };
  }

  /**
   * Feeds `tokens` to `caches` (a sequence's prompt chunk), with the chunks other sequences submit in the same turn;
   * resolves once the caches hold them.
   */
  prefill(tokens: readonly number[], caches: LayerCache[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#prefills.push({ tokens, caches, resolve, reject }) === 1) setImmediate(() => this.#runPrefill());
    });
  }

  #runPrefill(): void {
    const all = this.#prefills;
    this.#prefills = [];
    // Only caches that can drop the padding afterwards share a pass (a ring buffer may have overwritten positions; a
    // recurrent state has taken the padding in for good).
    const together = all.length > 1 ? all.filter((c) => c.caches.every((k) => k.constructor === KVCache)) : [];
    const passes = together.length > 1 ? [together, ...all.filter((c) => !together.includes(c)).map((c) => [c])] : all.map((c) => [c]);
    for (const pass of passes) {
      try {
        scope(() => {
          const width = Math.max(...pass.map((c) => c.tokens.length));
          const ids = pass.flatMap((c) => [...c.tokens, ...new Array<number>(width - c.tokens.length).fill(c.tokens[0]!)]);
          this.model.forwardRows(array(ids, [pass.length, width], "int32"), pass.map((c) => c.caches));
          for (const c of pass) for (const k of c.caches) if (width > c.tokens.length) k.trim(width - c.tokens.length);
          evalArrays(...pass.flatMap((c) => c.caches.flatMap((k) => k.state())));
        });
      } catch (err) {
        for (const c of pass) c.reject(err);
        continue;
      }
      this.prefillPasses++;
      this.prefillChunks += pass.length;
      for (const c of pass) c.resolve();
    }
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
    // A prompt waiting to be prefilled goes first: queued after this step it would also wait for the step the
    // members queue next (they queue step n+1 before reading token n), a whole step more before its first token.
    if (this.#prefills.length > 0) this.#runPrefill();
    // Rows in the order their sequences joined, so that the same sequences make the same group step after step.
    const batch = this.#pending.sort((a, b) => a.order - b.order);
    this.#pending = [];
    let rows: MxArray[];
    try {
      const group = this.#groupFor(batch.map((s) => s.caches));
      rows = scope(() => {
        const B = batch.length;
        const inputs = B === 1 ? batch[0]!.input : concatenate(batch.map((s) => s.input), 0);
        const logits = this.model.forwardRows(reshape(inputs, [B, 1]), batch.map((s) => s.caches), group?.shared);
        const V = logits.shape[2]!;
        return batch.map((_, b) => reshape(slice(logits, [b, 0, 0], [b + 1, 1, V]), [1, V]));
      });
    } catch (err) {
      this.#ungroup(false); // a step that failed halfway leaves nothing worth giving back
      for (const s of batch) s.reject(err);
      return;
    }
    this.steps++;
    this.rows += batch.length;
    this.peakRows = Math.max(this.peakRows, batch.length);
    if (this.#group) this.sharedSteps++;
    batch.forEach((s, b) => s.resolve(persist(rows[b]!)));
  }

  /** The group for these rows: the current one when it is exactly them, else (for two rows or more) a new one. */
  #groupFor(caches: LayerCache[][]): Group | null {
    const g = this.#group;
    if (g && g.caches.length === caches.length && g.caches.every((c, b) => c === caches[b])) return g;
    this.#ungroup(true);
    if (caches.length < 2) return null;
    const layers = caches[0]!.length;
    const shared = scope(() =>
      Array.from({ length: layers }, (_, i) => {
        const own = caches.map((c) => c[i]!);
        if (!own.every((c) => c.constructor === KVCache)) return null;
        const batched = new BatchKVCache(own as KVCache[]);
        for (const c of own as KVCache[]) c.assign(null); // the batch cache holds their state now
        return batched;
      }),
    );
    this.#group = { caches, shared };
    return this.#group;
  }

  /** Ends the group; `giveBack`: first puts every row's state back in its own caches. */
  #ungroup(giveBack: boolean): void {
    const g = this.#group;
    if (!g) return;
    this.#group = null;
    if (giveBack) {
      scope(() => {
        g.shared.forEach((batched, i) => {
          if (batched) g.caches.forEach((c, b) => batched.writeBack(b, c[i] as KVCache));
        });
      });
    }
    for (const b of g.shared) b?.[Symbol.dispose]();
  }
}
