// Independent plain-JS references for the ffi tests: seeded data, naive matmul, softmax, RoPE, attention.
import { expect } from "bun:test";

/** Deterministic floats in [-1, 1) (mulberry32), rounded to float32. */
export function randomF32(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** (m, k) @ (k, n), row-major. */
export function matmulJs(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += (a[i * k + t] ?? 0) * (b[t * n + j] ?? 0);
      out[i * n + j] = acc;
    }
  return out;
}

export function softmaxJs(row: ArrayLike<number>): number[] {
  const xs = Array.from(row);
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

export interface RopeRef {
  dims: number;
  traditional: boolean;
  base?: number;
  freqs?: ArrayLike<number>;
  scale: number;
  offset: number;
}

/** Textbook RoPE over x (B, H, L, D) row-major: pairs (2i, 2i+1) if traditional, else (i, i + dims/2). */
export function ropeJs(x: Float32Array, shape: number[], o: RopeRef): Float64Array {
  const [B = 1, H = 1, L = 1, D = 1] = shape;
  const out = Float64Array.from(x);
  const half = o.dims / 2;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let l = 0; l < L; l++) {
        const row = ((b * H + h) * L + l) * D;
        const pos = (o.offset + l) * o.scale;
        for (let i = 0; i < half; i++) {
          const invFreq = o.freqs ? 1 / (o.freqs[i] ?? 1) : Math.pow(o.base ?? 10000, (-2 * i) / o.dims);
          const theta = pos * invFreq;
          const [i1, i2] = o.traditional ? [2 * i, 2 * i + 1] : [i, i + half];
          const x1 = x[row + i1] ?? 0;
          const x2 = x[row + i2] ?? 0;
          out[row + i1] = x1 * Math.cos(theta) - x2 * Math.sin(theta);
          out[row + i2] = x1 * Math.sin(theta) + x2 * Math.cos(theta);
        }
      }
  return out;
}

/**
 * softmax(q k^T scale + mask) v for q (B,H,Lq,D), k/v (B,Hkv,Lk,D); head h reads kv head h / (H/Hkv).
 * allowed(b, h, i, j) masks out a score when false; additive(b, h, i, j) adds to it.
 */
export function attentionJs(
  q: Float32Array, k: Float32Array, v: Float32Array,
  [B, H, Lq, D]: number[], [Hkv, Lk]: number[], scale: number,
  allowed: (b: number, h: number, i: number, j: number) => boolean = () => true,
  additive: (b: number, h: number, i: number, j: number) => number = () => 0,
): Float64Array {
  const out = new Float64Array(B! * H! * Lq! * D!);
  const group = H! / Hkv!;
  for (let b = 0; b < B!; b++)
    for (let h = 0; h < H!; h++) {
      const kh = Math.floor(h / group);
      for (let i = 0; i < Lq!; i++) {
        const qRow = ((b * H! + h) * Lq! + i) * D!;
        const scores: number[] = [];
        for (let j = 0; j < Lk!; j++) {
          const kRow = ((b * Hkv! + kh) * Lk! + j) * D!;
          let s = 0;
          for (let d = 0; d < D!; d++) s += (q[qRow + d] ?? 0) * (k[kRow + d] ?? 0);
          scores.push(allowed(b, h, i, j) ? s * scale + additive(b, h, i, j) : -Infinity);
        }
        const p = softmaxJs(scores);
        for (let d = 0; d < D!; d++) {
          let acc = 0;
          for (let j = 0; j < Lk!; j++) acc += (p[j] ?? 0) * (v[((b * Hkv! + kh) * Lk! + j) * D! + d] ?? 0);
          out[qRow + d] = acc;
        }
      }
    }
  return out;
}

/** Every |actual - expected| <= atol + rtol * |expected|, reporting the first offending index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] ?? Number.NaN;
    const e = expected[i] ?? Number.NaN;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** Largest difference relative to the largest magnitude of the reference. */
export function relErr(a: Float32Array, ref: Float32Array): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    e = Math.max(e, Math.abs(a[i]! - ref[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
  }
  return e / m;
}
