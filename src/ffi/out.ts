// Out-parameters: memory the shim writes during a call and JS reads after it. Its address must never move.
//
// A typed array under 1000 bytes made with `new Int32Array(n)` is a JSC "fast" array whose elements live in the
// GC heap. When the JIT compiles a function that uses it, JSC copies them into a new ArrayBuffer and abandons the
// old storage (oven-sh/bun#32054; the fix, bun PR #32055, is not in Bun 1.4.5). A pointer taken with ptr() before
// that dangles: the shim then writes into storage the GC has handed to other objects, and a later collection
// crashes ("Segmentation fault at address 0xD0": issue 20, test/ffi/stress/boundary.ts). A view over an
// ArrayBuffer of its own uses the buffer's storage from the start, and that storage never moves.
//
// Typed arrays passed as call arguments (shapes, handle lists, bytes) need none of this: the pointer is taken
// at the call and only read during it.
import { type Pointer, ptr, read } from "bun:ffi";

export class OutBuffer {
  readonly ptr: Pointer;
  /** Capacity in 4-byte slots (an i32 each; an f64 takes two). */
  readonly slots: number;
  // Held so the storage lives as long as this object; never read from JS (reads go through ptr, below).
  readonly #storage: ArrayBuffer;

  constructor(slots: number) {
    this.slots = slots;
    this.#storage = new ArrayBuffer(4 * Math.max(slots, 1));
    this.ptr = ptr(this.#storage);
  }

  i32(index: number): number {
    return read.i32(this.ptr, 4 * index);
  }

  /** The float64 at byte offset 8 * index. */
  f64(index: number): number {
    return read.f64(this.ptr, 8 * index);
  }
}
