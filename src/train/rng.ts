// mulberry32: a tiny seeded PRNG, so a run (a batch order, a token walk, a chunk split) reproduces from its seed.
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 52-bit seed for MLX's random.key from a run's seed and integers naming one draw (an iteration, a layer). */
export function mixSeed(seed: number, ...parts: readonly number[]): number {
  let h = seed >>> 0;
  for (const p of parts) h = (rng(h ^ Math.imul(p >>> 0, 0x9e3779b1))() * 4294967296) >>> 0;
  const next = rng(h);
  return Math.floor(next() * 2 ** 20) * 2 ** 32 + Math.floor(next() * 2 ** 32);
}
