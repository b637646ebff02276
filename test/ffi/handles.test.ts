import { describe, expect, test } from "bun:test";

import * as mx from "../../src/ffi/index.ts";

describe("errors", () => {
  test("a matmul shape mismatch throws MlxError with MLX's [matmul] message, and the next call works", () => {
    using a = mx.zeros([2, 3]);
    using b = mx.zeros([2, 3]);
    let err: unknown;
    try {
      mx.matmul(a, b);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(mx.MlxError);
    expect((err as Error).message).toContain("[matmul]");
    using c = mx.matmul(a, mx.transpose(b));
    expect(c.shape).toEqual([2, 2]);
  });

  test("using a freed array throws MlxError 'invalid array handle', not a crash", () => {
    const a = mx.zeros([2]);
    a.free();
    expect(() => mx.add(a, 1)).toThrow(/invalid array handle/);
    expect(() => a.shape).toThrow(mx.MlxError);
  });

  test("a stale handle whose slot was reused is rejected and does not alias the new array", () => {
    const a = mx.ones([3]);
    const stale = a.handle;
    a.free();
    using b = mx.full([4], 7);
    expect(b.handle & 0xfffff).toBe(stale & 0xfffff); // same slot, new generation
    expect(b.handle).not.toBe(stale);
    expect(() => new mx.MxArray(stale).item()).toThrow(/invalid array handle/);
    expect(Array.from(b.toFloat32())).toEqual([7, 7, 7, 7]);
  });

  test("disposing twice, or after a scope freed the array, is harmless", () => {
    let inner: mx.MxArray | undefined;
    mx.scope(() => {
      inner = mx.zeros([1]);
    });
    expect(inner!.isValid).toBe(false);
    inner![Symbol.dispose]();
    const a = mx.zeros([1]);
    a[Symbol.dispose]();
    a[Symbol.dispose]();
    a.free();
    expect(a.isValid).toBe(false);
  });
});

describe("scopes", () => {
  test("scope frees intermediates and keeps the returned arrays (single, list, record)", () => {
    const before = mx.liveCount();
    const one = mx.scope(() => mx.add(mx.exp(mx.ones([2])), 1));
    expect(mx.liveCount()).toBe(before + 1);
    const list = mx.scope(() => [mx.ones([1]), mx.zeros([1])]);
    const rec = mx.scope(() => ({ a: mx.ones([1]), parts: mx.split(mx.arange(4), 2), n: 3 }));
    expect(mx.liveCount()).toBe(before + 1 + 2 + 3);
    expect(Array.from(rec.parts[1]!.toInt32())).toEqual([2, 3]);
    for (const x of [one, ...list, rec.a, ...rec.parts]) x.free();
    expect(mx.liveCount()).toBe(before);
  });

  test("nested scopes: a kept array moves to the enclosing scope and is freed with it", () => {
    const before = mx.liveCount();
    let kept: mx.MxArray | undefined;
    const outer = mx.scope(() => {
      kept = mx.scope(() => mx.multiply(mx.ones([2]), 3));
      expect(kept.isValid).toBe(true);
      return mx.add(kept, 1);
    });
    expect(kept!.isValid).toBe(false);
    expect(Array.from(outer.toFloat32())).toEqual([4, 4]);
    outer.free();
    expect(mx.liveCount()).toBe(before);
  });

  test("a throw inside a scope frees everything made in it and rethrows", () => {
    const before = mx.liveCount();
    expect(() =>
      mx.scope(() => {
        mx.ones([4]);
        mx.matmul(mx.ones([2, 3]), mx.ones([2, 3]));
      }),
    ).toThrow(mx.MlxError);
    expect(mx.liveCount()).toBe(before);
  });

  test("returning an array made outside the scope leaves it alive and owned by its creator", () => {
    using w = mx.ones([2]);
    const same = mx.scope(() => {
      mx.zeros([1]);
      return w;
    });
    expect(same).toBe(w);
    expect(w.isValid).toBe(true);
  });

  test("persist takes an array out of every open scope; its owner frees it", () => {
    const before = mx.liveCount();
    let cache: mx.MxArray | undefined;
    mx.scope(() => {
      mx.scope(() => {
        cache = mx.persist(mx.zeros([4]));
        mx.ones([1]);
      });
    });
    expect(cache!.isValid).toBe(true);
    expect(mx.liveCount()).toBe(before + 1);
    cache!.free();
    expect(mx.liveCount()).toBe(before);
  });

  test("`using` frees the array at the end of the block", () => {
    const before = mx.liveCount();
    let seen: mx.MxArray | undefined;
    {
      using a = mx.ones([8]);
      seen = a;
      expect(mx.liveCount()).toBe(before + 1);
    }
    expect(seen.isValid).toBe(false);
    expect(mx.liveCount()).toBe(before);
  });
});
