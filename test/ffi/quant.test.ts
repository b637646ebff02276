import { describe, expect, test } from "bun:test";

import * as mx from "../../src/ffi/index.ts";
import { expectClose, matmulJs, randomF32 } from "./reference.ts";

describe("affine quantization", () => {
  for (const bits of [2, 3, 4, 5, 6, 8]) {
    for (const groupSize of [32, 64, 128]) {
      test(`${bits}-bit, group ${groupSize}: dequantize(quantize(w)) is the nearest level of its group's grid (half a step)`, () => {
        const rows = 4;
        const cols = 256;
        const w = randomF32(rows * cols, bits * 1000 + groupSize, 2);
        const out = mx.scope(() => {
          const q = mx.quantize(mx.array(w, [rows, cols]), { groupSize, bits });
          return { q, back: mx.dequantize(q.wq, q.scales, q.biases, { groupSize, bits }) };
        });
        expect(out.q.wq.dtype).toBe("uint32");
        expect(out.q.wq.shape).toEqual([rows, (cols * bits) / 32]);
        expect(out.q.scales.shape).toEqual([rows, cols / groupSize]);
        expect(out.q.biases!.shape).toEqual([rows, cols / groupSize]);
        const back = out.back.toFloat32();
        const scales = out.q.scales.toFloat32();
        const biases = out.q.biases!.toFloat32();
        const levels = 2 ** bits - 1;
        for (let i = 0; i < w.length; i++) {
          const g = Math.floor(i / groupSize);
          const step = Math.abs(scales[g]!);
          const ends = [biases[g]!, biases[g]! + levels * scales[g]!];
          const [lo, hi] = [Math.min(...ends), Math.max(...ends)];
          const err = Math.abs(back[i]! - w[i]!);
          // float32 rounding of scale * q + bias
          const eps = 4e-7 * (Math.abs(w[i]!) + step * levels);
          // Inside the group's grid: the nearest level, within half a step. MLX snaps the scale so that the
          // grid's edge is an exact multiple of it, which can leave the far extreme just outside the grid:
          // that value is clipped to the grid's end, still within one step.
          const inside = w[i]! >= lo - eps && w[i]! <= hi + eps;
          const ok = inside ? err <= step / 2 + eps : err <= step + eps && Math.abs(back[i]! - (w[i]! < lo ? lo : hi)) <= eps;
          if (!ok) throw new Error(`w[${i}] = ${w[i]} came back as ${back[i]} (step ${step}, grid [${lo}, ${hi}])`);
        }
      });
    }
  }

  test("quantized_matmul equals matmul with the dequantized weight transposed", () => {
    const x = randomF32(3 * 128, 5);
    const w = randomF32(16 * 128, 6);
    const out = mx.scope(() => {
      const q = mx.quantize(mx.array(w, [16, 128]), { groupSize: 64, bits: 4 });
      const xa = mx.array(x, [3, 128]);
      const dq = mx.dequantize(q.wq, q.scales, q.biases, { groupSize: 64, bits: 4 });
      return { y: mx.quantizedMatmul(xa, q.wq, q.scales, q.biases, { groupSize: 64, bits: 4 }), ref: mx.matmul(xa, mx.transpose(dq)), dq };
    });
    const dq = out.dq.toFloat32();
    const dqT = new Float32Array(128 * 16);
    for (let o = 0; o < 16; o++) for (let i = 0; i < 128; i++) dqT[i * 16 + o] = dq[o * 128 + i]!;
    expectClose(out.y.toFloat32(), out.ref.toFloat32(), 1e-4, 1e-4);
    expectClose(out.y.toFloat32(), matmulJs(x, dqT, 3, 128, 16), 1e-4, 1e-4);
  });

  test("quantized linear and embedding use the dequantized rows", () => {
    const w = randomF32(10 * 64, 9);
    const out = mx.scope(() => {
      const q = mx.quantize(mx.array(w, [10, 64]), { groupSize: 32, bits: 8 });
      const opts = { scales: q.scales, biases: q.biases, groupSize: 32, bits: 8 };
      const dq = mx.dequantize(q.wq, q.scales, q.biases, { groupSize: 32, bits: 8 });
      const ids = mx.array([3, 7], [2], "int32");
      const x = mx.array(randomF32(64, 10), [1, 64]);
      return {
        emb: mx.embedding(ids, q.wq, opts), embRef: mx.take(dq, ids, 0),
        lin: mx.linear(x, q.wq, opts), linRef: mx.linear(x, dq),
      };
    });
    expect(Array.from(out.emb.toFloat32())).toEqual(Array.from(out.embRef.toFloat32()));
    expectClose(out.lin.toFloat32(), out.linRef.toFloat32(), 1e-4, 1e-4);
  });
});
