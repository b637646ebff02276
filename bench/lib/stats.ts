// Summaries of repeated samples: median and spread (min–max), percentiles for concurrency latencies.

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * p;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}

export function spread(xs: number[]): Spread {
  const finite = xs.filter(Number.isFinite);
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: percentile(finite, 0.5), min: Math.min(...finite), max: Math.max(...finite) };
}
