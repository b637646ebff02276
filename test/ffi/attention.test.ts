import { describe, test } from "bun:test";

import * as mx from "../../src/ffi/index.ts";
import { attentionJs, expectClose, randomF32, ropeJs } from "./reference.ts";

describe("rope", () => {
  const shape = [1, 2, 5, 8];
  const x = randomF32(80, 41);
  for (const traditional of [false, true]) {
    test(`traditional=${traditional}: matches the textbook rotation at offset 3 with base 10000`, () => {
      const y = mx.scope(() => mx.rope(mx.array(x, shape), { dims: 8, traditional, base: 10000, scale: 1, offset: 3 }));
      expectClose(y.toFloat32(), ropeJs(x, shape, { dims: 8, traditional, base: 10000, scale: 1, offset: 3 }), 2e-5, 1e-5);
    });

    test(`traditional=${traditional}: partial dims with freqs and scale leave the tail untouched`, () => {
      const freqs = [1, 3.5, 40];
      const opts = { dims: 6, traditional, freqs, scale: 0.5, offset: 7 };
      const y = mx.scope(() => mx.rope(mx.array(x, shape), { ...opts, freqs: mx.array(freqs) }));
      expectClose(y.toFloat32(), ropeJs(x, shape, opts), 2e-5, 1e-5);
    });
  }

  test("an array offset gives the same result as the number", () => {
    const [a, b] = mx.scope(() => {
      const xa = mx.array(x, shape);
      return [
        mx.rope(xa, { dims: 8, traditional: false, base: 500, offset: 4 }),
        mx.rope(xa, { dims: 8, traditional: false, base: 500, offset: mx.array([4], [1], "int32") }),
      ];
    });
    expectClose(a!.toFloat32(), b!.toFloat32(), 0, 0);
  });
});

describe("scaled dot-product attention", () => {
  const B = 1;
  const H = 4;
  const D = 8;
  const scale = 1 / Math.sqrt(D);

  function run(Hkv: number, Lq: number, Lk: number, mask?: "causal" | { data: number[]; bool: boolean }) {
    const q = randomF32(B * H * Lq * D, 51);
    const k = randomF32(B * Hkv * Lk * D, 52);
    const v = randomF32(B * Hkv * Lk * D, 53);
    const y = mx.scope(() => {
      const m = mask === undefined || mask === "causal" ? mask : mask.bool
        ? mx.astype(mx.array(mask.data, [Lq, Lk]), "bool") : mx.array(mask.data, [Lq, Lk]);
      return mx.sdpa(mx.array(q, [B, H, Lq, D]), mx.array(k, [B, Hkv, Lk, D]), mx.array(v, [B, Hkv, Lk, D]), { scale, mask: m });
    });
    return { q, k, v, y: y.toFloat32() };
  }

  test("causal mask is aligned bottom-right (query i sees keys up to i + Lk - Lq)", () => {
    const { q, k, v, y } = run(H, 3, 5, "causal");
    expectClose(y, attentionJs(q, k, v, [B, H, 3, D], [H, 5], scale, (_b, _h, i, j) => j <= i + 2), 1e-5, 1e-4);
  });

  test("a bool array mask keeps exactly the true positions", () => {
    const data = [1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1];
    const { q, k, v, y } = run(H, 3, 4, { data, bool: true });
    expectClose(y, attentionJs(q, k, v, [B, H, 3, D], [H, 4], scale, (_b, _h, i, j) => data[i * 4 + j] === 1), 1e-5, 1e-4);
  });

  test("an additive float mask is added to the scores", () => {
    const data = [0, -1, 2, 0.5, 0, 0, -3, 1, 0.25, 0, 0, -0.5];
    const { q, k, v, y } = run(H, 3, 4, { data, bool: false });
    expectClose(y, attentionJs(q, k, v, [B, H, 3, D], [H, 4], scale, undefined, (_b, _h, i, j) => data[i * 4 + j]!), 1e-5, 1e-4);
  });

  test("GQA: 4 query heads over 2 kv heads share kv heads in groups, with a causal mask", () => {
    const { q, k, v, y } = run(2, 4, 4, "causal");
    expectClose(y, attentionJs(q, k, v, [B, H, 4, D], [2, 4], scale, (_b, _h, i, j) => j <= i), 1e-5, 1e-4);
  });

  test("no mask attends everywhere", () => {
    const { q, k, v, y } = run(1, 2, 6);
    expectClose(y, attentionJs(q, k, v, [B, H, 2, D], [1, 6], scale), 1e-5, 1e-4);
  });
});
