// A recurrent layer's cache (mlx-lm's ArraysCache): a few arrays that summarise every token seen so far (LFM2's
// short-conv window, a linear-attention state), replaced whole at each step. Unlike keys and values, a snapshot
// cannot give back the state it had n tokens ago: it is never trimmed (canTrim(n) only for n = 0), so the prefix
// cache reuses it only for an exact prefix and a batched prefill never pads its rows. Like a KV cache it owns its
// arrays outside any scope and frees the previous one as soon as it is replaced.
import { retain, type MxArray } from "../../ffi/index.ts";
import { replace, type AttentionMask, type LayerCache } from "./kv-cache.ts";

export class StateCache implements LayerCache {
  #slots: (MxArray | null)[];
  /** tokens the state has seen */
  offset = 0;

  constructor(readonly size: number) {
    this.#slots = new Array<MxArray | null>(size).fill(null);
  }

  /** Slot i's array, or null before the first step. */
  get(i: number): MxArray | null {
    return this.#slots[i] ?? null;
  }

  /** Makes `next` slot i's array (kept outside any scope; the previous one is freed). */
  set(i: number, next: MxArray): void {
    this.#slots[i] = replace(this.#slots[i] ?? null, next);
  }

  /** Counts n more tokens seen (once per step, after the slots are set). */
  advance(n: number): void {
    this.offset += n;
  }

  update(): [MxArray, MxArray] {
    throw new Error("a recurrent state cache holds no keys or values");
  }

  // The state needs no mask (a single sequence never has padding in it). DecoderLM draws every row's masks from
  // its first non-sliding layer's cache, which may be this one: answer as a full-attention KVCache at this offset.
  makeMask(n: number): AttentionMask {
    return n === 1 ? null : "causal";
  }

  state(): MxArray[] {
    return this.#slots.filter((s): s is MxArray => s !== null);
  }

  get nbytes(): number {
    return this.#slots.reduce((n, s) => n + (s?.nbytes ?? 0), 0);
  }

  canTrim(n: number): boolean {
    return n === 0;
  }

  trim(n: number): void {
    if (n !== 0) throw new Error(`a recurrent state cannot drop its last ${n} positions`);
  }

  clone(): StateCache {
    const c = new StateCache(this.size);
    c.#slots = this.#slots.map((s) => (s ? retain(s) : null));
    c.offset = this.offset;
    return c;
  }

  [Symbol.dispose](): void {
    for (const s of this.#slots) s?.free();
    this.#slots.fill(null);
  }
}
