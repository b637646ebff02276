// Gradients of a TypeScript function (a model's loss) by MLX's reverse-mode autodiff: native/mlx_c_shim/autograd.cpp
// traces it by calling back into this one JSCallback, once, synchronously, on the runner's thread (bun:ffi's
// documented same-thread use: never threadsafe, never closed in flight). The callback never throws across the
// boundary: an error is kept here, reported as a failed call, and rethrown once MLX has unwound. checkpoint() is
// mx.checkpoint over a TS function (a transformer block): called now, from inside the traced function, and again
// from the backward pass inside value_and_grad, so each stays registered (and what it captures alive) until then.
import { JSCallback, read, toArrayBuffer, type Pointer } from "bun:ffi";
import { handles, MxArray } from "./array.ts";
import { checkStatus } from "./errors.ts";
import { sym } from "./lib.ts";
import { OutBuffer } from "./out.ts";
import { persist, retain, scope } from "./scope.ts";

type Traced = (inputs: MxArray[]) => MxArray[];

let active: Traced | null = null;
let failure: unknown = null;

/** The checkpointed functions of the gradient being taken (payload i + 1 is blocks[i]), and what they capture. */
const blocks: Traced[] = [];
const kept: MxArray[] = [];

function releaseBlocks(): void {
  blocks.length = 0;
  for (const a of kept.splice(0)) a.free();
}

/** Runs f on the inputs the shim passes, writes its outputs' handles; the output count, or -1 (failure kept). */
function runTraced(f: Traced | null | undefined, inPtr: number, nin: number, outPtr: number, cap: number, what: string): number {
  const inputs: MxArray[] = [];
  for (let i = 0; i < nin; i++) inputs.push(new MxArray(read.i32(inPtr, 4 * i)));
  try {
    if (!f) throw new Error(`${what}: no traced function`);
    const ins = new Set(inputs.map((x) => x.handle));
    // the function's temporaries go with this scope; its outputs go to the shim, which frees them
    const outputs = scope(() => f(inputs).map((o) => (ins.has(o.handle) ? retain(o) : o)));
    if (outputs.length === 0 || outputs.length > cap) throw new RangeError(`${what}: ${outputs.length} outputs (1 to ${cap})`);
    const out = new Int32Array(toArrayBuffer(outPtr, 0, 4 * cap));
    outputs.forEach((o, i) => (out[i] = persist(o).handle));
    return outputs.length;
  } catch (e) {
    failure ??= e;
    return -1;
  } finally {
    for (const x of inputs) x.free();
  }
}

const callback = new JSCallback((inPtr: number, nin: number, outPtr: number, cap: number): number => runTraced(active, inPtr, nin, outPtr, cap, "value_and_grad"), {
  args: ["ptr", "i32", "ptr", "i32", "ptr"],
  returns: "i32",
});

const blockCallback = new JSCallback(
  (inPtr: number, nin: number, outPtr: number, cap: number, payload: number | null): number => runTraced(blocks[Number(payload ?? 0) - 1], inPtr, nin, outPtr, cap, "checkpoint"),
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
    releaseBlocks();
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

/**
 * mx.checkpoint(f)(inputs): f's outputs, f's activations not kept for the gradient but recomputed in the backward
 * pass by calling f again. Gradients flow only through `inputs`: anything else f reads is a constant, and arrays it
 * captures must stay alive until the gradient is taken — pass them as `keep` (each kept by a handle of its own and
 * handed to f in place of the original: f gets them as its second argument).
 */
export function checkpoint(f: (inputs: MxArray[], kept: MxArray[]) => MxArray[], inputs: readonly MxArray[], keep: readonly MxArray[] = []): MxArray[] {
  const mine = keep.map((a) => retain(a));
  kept.push(...mine);
  blocks.push((xs) => f(xs, mine));
  const id = blocks.length;
  const results = new OutBuffer(64);
  let n: number;
  try {
    n = sym.mlxs_checkpoint(blockCallback.ptr, id as Pointer, handles(inputs), inputs.length, results.ptr, results.slots);
  } finally {
    // outside a gradient nothing calls f again
    if (!active) releaseBlocks();
  }
  if (n < 0 && failure !== null && !active) {
    const e = failure;
    failure = null;
    sym.mlxs_clear_error();
    throw e;
  }
  checkStatus(n, "checkpoint");
  return Array.from({ length: n }, (_, i) => new MxArray(results.i32(i)));
}
