// One sequence's sampling, built once from its options (as mlx-lm's sample_utils builds a sampler and its logits
// processors) and owned by that sequence alone, so that whatever runs beside it in a batch never changes it:
//  - the penalties (repeat / presence / frequency) over its last repeat_last_n tokens;
//  - its own random key: a seeded sequence samples the same tokens alone and in a batch;
//  - the constraint's mask (under constrained decoding), applied before sampling;
//  - the log-probabilities it reports, when asked.
// Every array it makes is either handed to the caller or freed by it; dispose() frees what it keeps.
import { array, concatenate, persist, random, scope, slice, where, type MxArray } from "../ffi/index.ts";
import type { TokenConstraint } from "./constrain/constraint.ts";
import { applyPenalties, logprobsOf, penaltiesActive, sample, type SamplerOptions } from "./sampler.ts";

export interface SamplerSetup extends SamplerOptions {
  seed?: number;
  constraint?: TokenConstraint;
  logprobs?: boolean;
  topLogprobs?: number;
  /** repeat_last_n of -1 means the whole context */
  numCtx: number;
}

/** A sampled token (shape [1], still lazy) and, when asked for, the log-probabilities it was drawn from. */
export interface SampledToken {
  token: MxArray;
  logprobs: MxArray | null;
}

export class SequenceSampler implements Disposable {
  readonly #opts: SamplerSetup;
  readonly #window: number;
  readonly #wantLogprobs: boolean;
  /** the last #window tokens, for the penalties (null when none is active) */
  #history: MxArray | null = null;
  #key: MxArray | null = null;

  constructor(opts: SamplerSetup, prompt: readonly number[]) {
    this.#opts = opts;
    this.#window = opts.repeatLastN < 0 ? opts.numCtx : opts.repeatLastN;
    this.#wantLogprobs = opts.logprobs === true || (opts.topLogprobs ?? 0) > 0;
    if (penaltiesActive(opts)) {
      const recent = prompt.slice(-this.#window);
      this.#history = persist(array(recent, [recent.length], "int32"));
    }
    if (opts.seed !== undefined && opts.seed >= 0) this.#key = persist(random.key(opts.seed));
  }

  /** The next token's logits (1, vocab) after the penalties; takes `logits` (frees it, or returns it). */
  process(logits: MxArray): MxArray {
    const h = this.#history;
    if (!h) return logits;
    try {
      return persist(scope(() => applyPenalties(logits, h, this.#opts)));
    } finally {
      logits.free();
    }
  }

  /**
   * Masks (under a constraint) and samples from processed logits (which stay the caller's); the history takes the
   * token. `remaining`: the tokens the generation may still produce, this one included (the constraint's budget).
   */
  pick(last: MxArray, remaining?: number): SampledToken {
    const constraint = this.#opts.constraint;
    const key = this.#nextKey();
    const s = scope(() => {
      const allowed = constraint?.mask(last.shape[1]!, remaining);
      const lp = logprobsOf(allowed ? where(allowed, last, -Infinity) : last);
      return { token: sample(lp, this.#opts, key), logprobs: this.#wantLogprobs ? lp : null };
    });
    key?.free();
    if (this.#history) {
      const h = this.#history;
      this.#history = persist(
        scope(() => {
          const joined = concatenate([h, s.token], 0);
          const n = joined.shape[0]!;
          return n > this.#window ? slice(joined, [n - this.#window], [n]) : joined;
        }),
      );
      h.free();
    }
    return { token: persist(s.token), logprobs: s.logprobs ? persist(s.logprobs) : null };
  }

  #nextKey(): MxArray | null {
    if (!this.#key) return null;
    const [a, b] = random.splitKeys(this.#key);
    this.#key.free();
    this.#key = persist(a!);
    return persist(b!);
  }

  [Symbol.dispose](): void {
    this.#history?.free();
    this.#key?.free();
    this.#history = this.#key = null;
  }
}

export function freeSampled(p: SampledToken | null): void {
  p?.token.free();
  p?.logprobs?.free();
}
