// valueAndGrad: MLX's reverse mode over a function written in TypeScript, called back through the shim. Gradients
// against analytic ones (a QLoRA-shaped loss: frozen 4-bit weights, float32 A and B); errors; handles.
import { describe, expect, test } from "bun:test";
import * as mx from "../../src/ffi/index.ts";

const close = (a: Float32Array, b: Float32Array, tol: number) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(a.length).toBe(b.length);
  expect(worst).toBeLessThan(tol);
};

describe("valueAndGrad", () => {
  test("sum(x²) + 3·y: the value, and gradients for the arguments asked for only", () => {
    mx.scope(() => {
      const x = mx.array([1, -2, 3], [3], "float32");
      const y = mx.array([5], [1], "float32");
      const { values, grads } = mx.valueAndGrad(([a, b]) => [mx.add(mx.sum(mx.square(a!)), mx.sum(mx.multiply(b!, 3))), mx.sum(a!)], [x, y], [0]);
      expect(values.map((v) => v.item())).toEqual([14 + 15, 2]);
      expect(grads).toHaveLength(1);
      expect([...grads[0]!.toFloat32()]).toEqual([2, -4, 6]);
      const both = mx.valueAndGrad(([a, b]) => [mx.sum(mx.multiply(a!, b!))], [x, y], [0, 1]);
      expect([...both.grads[0]!.toFloat32()]).toEqual([5, 5, 5]);
      expect([...both.grads[1]!.toFloat32()]).toEqual([2]);
    });
  });

  test("a LoRA loss over a frozen 4-bit linear: dA and dB as the analytic gradients", () => {
    mx.scope(() => {
      const [k1, k2, k3, k4, k5] = [1, 2, 3, 4, 5].map((seed) => mx.random.key(seed));
      const x = mx.random.normal([8, 64], { key: k1 });
      const w = mx.random.normal([32, 64], { key: k2 });
      const q = mx.quantize(w, { groupSize: 32, bits: 4 });
      const a = mx.multiply(mx.random.normal([64, 4], { key: k3 }), 0.1);
      const b = mx.multiply(mx.random.normal([4, 32], { key: k4 }), 0.1);
      const target = mx.random.normal([8, 32], { key: k5 });
      const loss = ([A, B]: mx.MxArray[]) => {
        const y = mx.add(mx.linear(x, q.wq, { scales: q.scales, biases: q.biases, groupSize: 32, bits: 4 }), mx.multiply(mx.matmul(mx.matmul(x, A!), B!), 20));
        return [mx.mean(mx.square(mx.subtract(y, target)))];
      };
      const { values, grads } = mx.valueAndGrad(loss, [a, b], [0, 1]);
      // d/dy of mean((y - t)²) = 2 (y - t) / N; dA = 20 xᵀ (g Bᵀ), dB = 20 (x A)ᵀ g
      const y = mx.add(mx.linear(x, q.wq, { scales: q.scales, biases: q.biases, groupSize: 32, bits: 4 }), mx.multiply(mx.matmul(mx.matmul(x, a), b), 20));
      const g = mx.multiply(mx.subtract(y, target), 2 / (8 * 32));
      const dA = mx.multiply(mx.matmul(mx.transpose(x), mx.matmul(g, mx.transpose(b))), 20);
      const dB = mx.multiply(mx.matmul(mx.transpose(mx.matmul(x, a)), g), 20);
      expect(values[0]!.item()).toBeCloseTo(loss([a, b])[0]!.item(), 3);
      close(grads[0]!.toFloat32(), dA.toFloat32(), 1e-5);
      close(grads[1]!.toFloat32(), dB.toFloat32(), 1e-5);
    });
  });

  test("an error inside the function comes back as itself, the call after it works, and no handle is left behind", () => {
    const x = mx.array([1, 2], [2], "float32");
    const before = mx.liveCount();
    expect(() => mx.valueAndGrad(() => {
      throw new Error("the loss failed");
    }, [x], [0])).toThrow("the loss failed");
    expect(() => mx.valueAndGrad(([a]) => [mx.sum(mx.exp(a!)), mx.reshape(a!, [1, 2])], [x], [0])).not.toThrow();
    expect(() => mx.valueAndGrad(([a]) => [a!], [x], [0])).toThrow(); // a vector is not a loss
    expect(mx.liveCount()).toBeGreaterThanOrEqual(before);
    // 200 steps of gradient descent in scopes: the handle count stays where it was
    let p = mx.persist(mx.array([3, -1], [2], "float32"));
    const start = mx.liveCount();
    for (let i = 0; i < 200; i++) {
      const next = mx.scope(() => {
        const { grads } = mx.valueAndGrad(([v]) => [mx.sum(mx.square(v!))], [p], [0]);
        return mx.subtract(p, mx.multiply(grads[0]!, 0.05));
      });
      mx.eval(next);
      p.free();
      p = mx.persist(next);
    }
    expect(mx.liveCount()).toBe(start);
    expect(Math.abs(p.toFloat32()[0]!)).toBeLessThan(1e-6);
    p.free();
    x.free();
  });
});
