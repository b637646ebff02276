// Feeding a streaming parser whole and in seeded random splits, for tests that must not depend on chunking.
import { rng } from "../../fixtures/rng.ts";

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
