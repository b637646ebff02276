// Gradients of a TypeScript function (a model's loss) by MLX's reverse-mode autodiff: native/mlx_c_shim/autograd.cpp
// traces it by calling back into this one JSCallback, once, synchronously, on the runner's thread (bun:ffi's
// documented same-thread use: never threadsafe, never closed in flight). The callback never throws across the
// boundary: an error is kept here, reported as a failed call, and rethrown once MLX has unwound.
import { JSCallback, read, toArrayBuffer } from "bun:ffi";
import { handles, MxArray } from "./array.ts";
import { checkStatus } from "./errors.ts";
import { sym } from "./lib.ts";
import { OutBuffer } from "./out.ts";
import { persist, retain, scope } from "./scope.ts";

type Traced = (inputs: MxArray[]) => MxArray[];

let active: Traced | null = null;
let failure: unknown = null;

const callback = new JSCallback(
  (inPtr: number, nin: number, outPtr: number, cap: number): number => {
    const inputs: MxArray[] = [];
    for (let i = 0; i < nin; i++) inputs.push(new MxArray(read.i32(inPtr, 4 * i)));
    try {
      const f = active;
      if (!f) throw new Error("value_and_grad: no traced function");
      const ins = new Set(inputs.map((x) => x.handle));
      // the function's temporaries go with this scope; its outputs go to the shim, which frees them
      const outputs = scope(() => f(inputs).map((o) => (ins.has(o.handle) ? retain(o) : o)));
      if (outputs.length === 0 || outputs.length > cap) throw new RangeError(`value_and_grad: ${outputs.length} outputs (1 to ${cap})`);
      const out = new Int32Array(toArrayBuffer(outPtr, 0, 4 * cap));
      outputs.forEach((o, i) => (out[i] = persist(o).handle));
      return outputs.length;
    } catch (e) {
      failure = e;
      return -1;
    } finally {
      for (const x of inputs) x.free();
    }
  },
  { args: ["ptr", "i32", "ptr", "i32", "ptr"], returns: "i32" },
);

const counts = new OutBuffer(1);

/**
 * f's outputs at `primals`, and the gradients of its first output (a scalar) with respect to primals[argnums]:
 * what mx.value_and_grad gives. f runs once, now, on traced copies of the primals; arrays it captures are constants.
 */
export function valueAndGrad(f: Traced, primals: readonly MxArray[], argnums: readonly number[]): { values: MxArray[]; grads: MxArray[] } {
  if (active) throw new Error("value_and_grad does not nest");
  active = f;
  failure = null;
  const results = new OutBuffer(64 + argnums.length); // the outputs (at most 64), then one gradient per argnum
  let n: number;
  try {
    n = sym.mlxs_value_and_grad(callback.ptr, null, handles(primals), primals.length, Int32Array.from(argnums), argnums.length, results.ptr, results.slots, counts.ptr);
  } finally {
    active = null;
  }
  if (failure !== null) {
    const e = failure;
    failure = null;
    sym.mlxs_clear_error();
    throw e;
  }
  checkStatus(n, "value_and_grad");
  const nvalues = counts.i32(0);
  const all = Array.from({ length: n }, (_, i) => new MxArray(results.i32(i)));
  return { values: all.slice(0, nvalues), grads: all.slice(nvalues) };
}
