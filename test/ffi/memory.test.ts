import { expect, test } from "bun:test";

import * as mx from "../../src/ffi/index.ts";

test("100k small ops in scopes (1000 evaluated steps of 100 ops) leave live handles and active memory flat", () => {
  using w = mx.ones([16, 16]);
  const step = (x: mx.MxArray) => {
    let y = x;
    for (let i = 0; i < 25; i++) {
      y = mx.add(mx.multiply(mx.matmul(y, w), 1e-3), mx.tanh(y)); // 4 ops
    }
    return y;
  };
  const warm = mx.scope(() => {
    const y = step(mx.ones([4, 16]));
    mx.eval(y);
    return y;
  });
  warm.free();
  mx.memory.clearCache();
  const liveBefore = mx.liveCount();
  const activeBefore = mx.memory.active();

  let state = mx.ones([4, 16]);
  for (let iter = 0; iter < 1000; iter++) {
    const next = mx.scope(() => {
      const y = step(state);
      mx.eval(y);
      return y;
    });
    state.free();
    state = next;
  }
  const last = state.toFloat32();
  state.free();
  mx.memory.clearCache();

  expect(Number.isFinite(last[0]!)).toBe(true);
  expect(mx.liveCount()).toBe(liveBefore);
  expect(Math.abs(mx.memory.active() - activeBefore)).toBeLessThanOrEqual(4096);
});

test("memory figures and limits are numbers; setCacheLimit returns the previous limit", () => {
  expect(mx.memory.peak()).toBeGreaterThan(0);
  expect(mx.memory.limit()).toBeGreaterThan(0);
  const prev = mx.memory.setCacheLimit(1 << 20);
  expect(mx.memory.setCacheLimit(prev)).toBe(1 << 20);
  mx.memory.resetPeak();
  expect(mx.memory.cache()).toBeGreaterThanOrEqual(0);
});

test("device queries describe the CPU", () => {
  expect(mx.device.gpuCount()).toBeGreaterThanOrEqual(0);
  expect(["cpu", "gpu"]).toContain(mx.device.defaultDevice());
  expect(typeof mx.device.info("cpu").device_name).toBe("string");
  expect(mx.mlxVersion()).toBe("0.32.4");
  mx.synchronize();
});
