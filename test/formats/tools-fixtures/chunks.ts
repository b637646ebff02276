// Feeding a streaming parser whole and in seeded random splits, for tests that must not depend on chunking.

/** mulberry32: a tiny seeded PRNG so failing splits are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSplits(text: string, seed: number): string[] {
  const next = rng(seed);
  const pieces: string[] = [];
  let i = 0;
  while (i < text.length) {
    const n = 1 + Math.floor(next() * 8);
    pieces.push(text.slice(i, i + n));
    i += n;
  }
  return pieces;
}
