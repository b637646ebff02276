import { expect, test } from "bun:test";

import * as mx from "../../src/ffi/index.ts";

// oven-sh/bun#32054: out-parameters written by native code can read stale once the caller is JIT-compiled.
test("shape and item stay correct over 20k alternating reads after JIT warm-up", () => {
  const arrays = mx.scope(() => [mx.zeros([2, 3]), mx.zeros([5]), mx.zeros([1, 7, 2, 4]), mx.zeros([9, 1])]);
  const shapes = [[2, 3], [5], [1, 7, 2, 4], [9, 1]];
  const scalars = mx.scope(() => [mx.scalar(1.5), mx.scalar(-7, "int32"), mx.scalar(42, "bfloat16"), mx.scalar(0.25, "float16")]);
  const values = [1.5, -7, 42, 0.25];
  for (let i = 0; i < 20000; i++) {
    const k = i % 4;
    const sh = arrays[k]!.shape;
    if (sh.length !== shapes[k]!.length || sh.some((d, j) => d !== shapes[k]![j])) {
      throw new Error(`iteration ${i}: shape ${sh} instead of ${shapes[k]}`);
    }
    const v = scalars[(k + i) % 4]!.item();
    if (v !== values[(k + i) % 4]) throw new Error(`iteration ${i}: item ${v} instead of ${values[(k + i) % 4]}`);
  }
  for (const a of [...arrays, ...scalars]) a.free();
  expect(true).toBe(true);
});

test("fresh arrays read back their own values over 5k create/read/free cycles", () => {
  for (let i = 0; i < 5000; i++) {
    using a = mx.array([i, i + 1], [1, 2], "int32");
    const sh = a.shape;
    const v = a.toInt32();
    if (sh[0] !== 1 || sh[1] !== 2 || v[0] !== i || v[1] !== i + 1) throw new Error(`iteration ${i}: ${sh} ${v}`);
  }
  expect(true).toBe(true);
});
