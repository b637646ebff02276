// scope(): every array created inside fn is freed when fn returns, except the ones it returns.
import { MxArray } from "./array.ts";
import { checkHandle, checkStatus } from "./errors.ts";
import { sym } from "./lib.ts";

const EMPTY = new Int32Array(0);

// The arrays a scope result carries: an MxArray, or arrays/plain objects/Maps of them, a few levels deep.
function collect(value: unknown, out: number[], depth: number): void {
  if (value instanceof MxArray) {
    out.push(value.handle);
  } else if (depth <= 0 || value === null || typeof value !== "object") {
    return;
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, out, depth - 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, depth - 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, depth - 1);
  }
}

/**
 * Runs fn and frees every array created during it, except the arrays found in its result, which then
 * belong to the enclosing scope (or live until freed when there is none). On throw, frees them all.
 * fn must be synchronous: the shim's scopes are a stack on one thread.
 */
export function scope<T>(fn: () => T): T {
  const mark = checkStatus(sym.mlxs_scope_begin(), "scope_begin");
  let result: T;
  try {
    result = fn();
  } catch (e) {
    sym.mlxs_scope_end(mark, EMPTY, 0);
    throw e;
  }
  if (result instanceof Promise) {
    sym.mlxs_scope_end(mark, EMPTY, 0);
    throw new TypeError("scope(fn): fn must be synchronous (it returned a Promise)");
  }
  const keep: number[] = [];
  collect(result, keep, 3);
  checkStatus(sym.mlxs_scope_end(mark, Int32Array.from(keep), keep.length), "scope_end");
  return result;
}

/**
 * Takes arrays out of every open scope, so they outlive it (a weight, a KV cache buffer); their owner frees
 * them. Returns its argument.
 */
export function persist<T extends MxArray>(a: T): T {
  checkStatus(sym.mlxs_detach(a.handle), "detach");
  return a;
}

/**
 * A second handle to the same array (MLX arrays are values: neither handle ever sees the other's updates), owned
 * by the caller outside any scope. What a cache keeps when it hands a copy of itself to someone else.
 */
export function retain(a: MxArray): MxArray {
  const h = checkHandle(sym.mlxs_retain(a.handle), "retain");
  checkStatus(sym.mlxs_detach(h), "detach");
  return new MxArray(h);
}

/** Handles alive on this thread: a leak check for tests. */
export function liveCount(): number {
  return sym.mlxs_live_count();
}
