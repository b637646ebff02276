// disposeAll (src/models/dispose.ts): every part freed, lists element by element, absent parts skipped.
import { expect, test } from "bun:test";
import * as mx from "../../src/ffi/index.ts";
import { disposeAll } from "../../src/models/dispose.ts";

test("disposeAll frees arrays, lists of them and other Disposables in order, and skips absent parts", () => {
  const live0 = mx.liveCount();
  const order: string[] = [];
  const named = (name: string): Disposable => ({ [Symbol.dispose]: () => void order.push(name) });
  const [a, b, c] = [mx.zeros([2]), mx.ones([3]), mx.zeros([1])];
  expect(mx.liveCount()).toBe(live0 + 3);
  disposeAll(named("first"), a, null, [b, undefined, [named("nested"), c]], undefined, named("last"));
  expect(mx.liveCount()).toBe(live0);
  expect([a, b, c].map((x) => x.isValid)).toEqual([false, false, false]);
  expect(order).toEqual(["first", "nested", "last"]);
  disposeAll(a, b); // a second time is harmless: freeing is idempotent
  expect(mx.liveCount()).toBe(live0);
});
