// The runner's prefix cache: the KV state of recent requests, kept by the token sequence it holds, so that a new
// request whose prompt starts the same way (the next turn of a chat, an agent resending its history, a
// regenerated answer, the same system prompt) prefills only what is new. As mlx-lm's server (LRUPromptCache) and
// Ollama's runners do:
//  - the entry sharing the longest prefix with the prompt wins; at least one prompt token is always prefilled,
//    since its forward pass gives the first logits;
//  - an entry that is exactly a prefix of the prompt is taken (its buffers move to the request: no copy);
//  - a longer entry is cloned and the clone trimmed to the shared prefix, so the entry stays for other branches;
//    a cache that cannot drop positions exactly (a sliding-window ring buffer that has wrapped, a recurrent state
//    at all: models/layers/state-cache.ts) is only reused when it needs no trimming;
//  - entries are bounded in bytes (OLLMLX_PREFIX_CACHE_BYTES) and by MLX's memory limit, evicted least recently
//    used first; storing an entry drops the entries it extends, which it can serve itself by trimming.
import { eval as evalArrays, memory } from "../ffi/index.ts";
import { disposeCaches, type LayerCache } from "../models/layers/kv-cache.ts";

interface Entry {
  tokens: number[];
  caches: LayerCache[];
  bytes: number;
  used: number;
}

export interface PrefixHit {
  caches: LayerCache[];
  /** prompt tokens already in the caches: prefill starts after them */
  reused: number;
}

export interface PrefixCacheStats {
  entries: number;
  bytes: number;
  capBytes: number;
  /** MLX handles the entries hold: what a leak check subtracts from the live count */
  handles: number;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class PrefixCache implements Disposable {
  #entries: Entry[] = [];
  #bytes = 0;
  #clock = 0;

  constructor(readonly capBytes: number) {}

  get stats(): PrefixCacheStats {
    const handles = this.#entries.reduce((n, e) => n + e.caches.reduce((m, c) => m + c.state().length, 0), 0);
    return { entries: this.#entries.length, bytes: this.#bytes, capBytes: this.capBytes, handles };
  }

  /** Caches for `prompt`: holding its longest cached prefix, or fresh from `make` when nothing usable is cached. */
  take(prompt: readonly number[], make: () => LayerCache[]): PrefixHit {
    let best: { entry: Entry; reuse: number } | null = null;
    for (const entry of this.#entries) {
      const reuse = Math.min(commonPrefix(entry.tokens, prompt), prompt.length - 1);
      const drop = entry.tokens.length - reuse;
      if (reuse <= (best?.reuse ?? 0)) continue;
      if (drop > 0 && !entry.caches.every((c) => c.canTrim(drop))) continue;
      best = { entry, reuse };
    }
    if (!best) return { caches: make(), reused: 0 };
    const { entry, reuse } = best;
    const drop = entry.tokens.length - reuse;
    if (drop === 0) {
      this.#remove(entry);
      return { caches: entry.caches, reused: reuse };
    }
    entry.used = ++this.#clock;
    const caches = entry.caches.map((c) => c.clone());
    for (const c of caches) c.trim(drop);
    return { caches, reused: reuse };
  }

  /**
   * Keeps `caches` (their positions hold `tokens`) for later requests; the cache now owns them. Drops them at
   * once when they do not fit.
   */
  put(tokens: readonly number[], caches: LayerCache[]): void {
    const offset = caches[0]?.offset ?? 0;
    if (this.capBytes <= 0 || offset === 0 || offset > tokens.length) {
      disposeCaches(caches);
      return;
    }
    // The request's last step may still be queued: an entry holds computed buffers, not a pending graph.
    try {
      evalArrays(...caches.flatMap((c) => c.state()));
    } catch (err) {
      disposeCaches(caches);
      throw err;
    }
    const bytes = caches.reduce((n, c) => n + c.nbytes, 0);
    if (bytes > this.capBytes) {
      disposeCaches(caches);
      return;
    }
    const held = tokens.slice(0, offset);
    // An entry this one extends is redundant: this one serves its requests by trimming.
    for (const e of [...this.#entries]) {
      const extended = e.tokens.length <= held.length && commonPrefix(e.tokens, held) === e.tokens.length;
      if (extended && caches.every((c) => c.canTrim(held.length - e.tokens.length))) this.#evict(e);
    }
    this.#entries.push({ tokens: held, caches, bytes, used: ++this.#clock });
    this.#bytes += bytes;
    this.#fit();
  }

  /** Frees every entry. */
  clear(): void {
    for (const e of [...this.#entries]) this.#evict(e);
  }

  [Symbol.dispose](): void {
    this.clear();
  }

  // Least recently used first, until the entries fit the cap and MLX stays under its memory limit.
  #fit(): void {
    const limit = memory.limit();
    while (this.#entries.length > 0 && (this.#bytes > this.capBytes || (limit > 0 && memory.active() > limit))) {
      const oldest = this.#entries.reduce((a, b) => (b.used < a.used ? b : a));
      this.#evict(oldest);
    }
  }

  #remove(e: Entry): void {
    this.#entries.splice(this.#entries.indexOf(e), 1);
    this.#bytes -= e.bytes;
  }

  #evict(e: Entry): void {
    this.#remove(e);
    disposeCaches(e.caches);
  }
}
