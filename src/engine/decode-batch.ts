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
  /** a token fed after the chunk in a pass of its own, whose logits the chunk resolves with */
  then?: number;
  resolve(logits: MxArray | null): void;
  reject(err: unknown): void;
}

/** A chunk fed (with its logits when asked), or the error of its pass. */
type Fed = { ok: true; logits: MxArray | null } | { ok: false; error: unknown };

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
   * resolves once the caches hold them. `then`: a token fed next, in a pass of its own right after (one row, as a
   * decode step computes it: a prompt's last token), and the logits (1, vocab) after it are what this resolves with
   * (the caller's to free); else null.
   */
  prefill(tokens: readonly number[], caches: LayerCache[], then: number): Promise<MxArray>;
  prefill(tokens: readonly number[], caches: LayerCache[]): Promise<null>;
  prefill(tokens: readonly number[], caches: LayerCache[], then?: number): Promise<MxArray | null> {
    return new Promise((resolve, reject) => {
      if (this.#prefills.push({ tokens, caches, then, resolve, reject }) === 1) setImmediate(() => this.#runPrefill());
    });
  }

  #runPrefill(): void {
    const all = this.#prefills;
    this.#prefills = [];
    const failed = new Map<PrefillChunk, unknown>();
    const chunks = all.filter((c) => c.tokens.length > 0);
    this.#feed(chunks, false).forEach((f, i) => {
      if (!f.ok) failed.set(chunks[i]!, f.error);
    });
    const follow = all.filter((c) => c.then !== undefined && !failed.has(c));
    this.#feed(follow.map((c) => ({ tokens: [c.then!], caches: c.caches })), true).forEach((f, i) => {
      if (f.ok) follow[i]!.resolve(f.logits);
      else failed.set(follow[i]!, f.error);
    });
    for (const c of all) {
      if (failed.has(c)) c.reject(failed.get(c));
      else if (c.then === undefined) c.resolve(null);
    }
  }

  /**
   * Feeds chunks in as few passes as their caches allow; for each chunk, in order: fed (with the logits (1, vocab)
   * after its last token when `logits` asks: the head runs on those positions only), or its pass's error.
   */
  #feed(chunks: readonly { tokens: readonly number[]; caches: LayerCache[] }[], logits: boolean): Fed[] {
    const out: Fed[] = [];
    // Only caches that can drop the padding afterwards share a pass (a ring buffer may have overwritten positions; a
    // recurrent state has taken the padding in for good).
    const all = chunks.map((_, i) => i);
    const together = all.length > 1 ? all.filter((i) => chunks[i]!.caches.every((k) => k.constructor === KVCache)) : [];
    const passes = together.length > 1 ? [together, ...all.filter((i) => !together.includes(i)).map((i) => [i])] : all.map((i) => [i]);
    for (const pass of passes) {
      const rows = pass.map((i) => chunks[i]!);
      try {
        const got = scope(() => {
          const width = Math.max(...rows.map((c) => c.tokens.length));
          const ids = rows.flatMap((c) => [...c.tokens, ...new Array<number>(width - c.tokens.length).fill(c.tokens[0]!)]);
          const at = logits ? rows.map((c) => c.tokens.length - 1) : undefined;
          const y = this.model.forwardRows(array(ids, [rows.length, width], "int32"), rows.map((c) => c.caches), undefined, at);
          for (const c of rows) for (const k of c.caches) if (width > c.tokens.length) k.trim(width - c.tokens.length);
          const V = y.shape[2]!;
          const last = logits ? rows.map((_, b) => reshape(slice(y, [b, 0, 0], [b + 1, 1, V]), [1, V])) : [];
          evalArrays(...rows.flatMap((c) => c.caches.flatMap((k) => k.state())), ...last);
          return last;
        }).map((a) => persist(a));
        pass.forEach((i, b) => (out[i] = { ok: true, logits: got[b] ?? null }));
        this.prefillPasses++;
        this.prefillChunks += pass.length;
      } catch (error) {
        for (const i of pass) out[i] = { ok: false, error };
      }
    }
    return out;
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
