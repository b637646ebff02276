// Shapes, slicing, joining, gathering and dtype changes.
import { MxArray, handles, wrap } from "./array.ts";
import { shapeArg } from "./creation.ts";
import { type Dtype, dtypeCode } from "./dtype.ts";
import { checkStatus } from "./errors.ts";
import { sym } from "./lib.ts";
import { OutBuffer } from "./out.ts";
import { type Axes, axesArg } from "./math.ts";

export function reshape(a: MxArray, shape: readonly number[]): MxArray {
  const sh = shapeArg(shape);
  return wrap(sym.mlxs_reshape(a.handle, sh, sh.length), "reshape");
}

/** Permutes axes; reverses them when axes is omitted. */
export function transpose(a: MxArray, axes?: readonly number[]): MxArray {
  const ax = axesArg(axes);
  return wrap(sym.mlxs_transpose(a.handle, ax, ax.length), "transpose");
}

export function swapaxes(a: MxArray, axis1: number, axis2: number): MxArray {
  return wrap(sym.mlxs_swapaxes(a.handle, axis1, axis2), "swapaxes");
}

export function expandDims(a: MxArray, axes: Axes): MxArray {
  const ax = axesArg(axes);
  return wrap(sym.mlxs_expand_dims(a.handle, ax, ax.length), "expand_dims");
}

/** Removes the given size-1 axes, or all of them when omitted. */
export function squeeze(a: MxArray, axes?: Axes): MxArray {
  const ax = axesArg(axes);
  return wrap(sym.mlxs_squeeze(a.handle, ax, ax.length), "squeeze");
}

export function flatten(a: MxArray, startAxis = 0, endAxis = -1): MxArray {
  return wrap(sym.mlxs_flatten(a.handle, startAxis, endAxis), "flatten");
}

/** a[start:stop:strides], one entry per axis (strides default to 1). */
export function slice(a: MxArray, start: readonly number[], stop: readonly number[], strides?: readonly number[]): MxArray {
  const st = strides ? shapeArg(strides) : null;
  return wrap(sym.mlxs_slice(a.handle, shapeArg(start), shapeArg(stop), st, start.length), "slice");
}

/** A slice of `sizes` along `axes` starting at the (int) array `start`: no recompile per position. */
export function sliceDynamic(a: MxArray, start: MxArray, axes: readonly number[], sizes: readonly number[]): MxArray {
  const ax = axesArg(axes);
  const sz = shapeArg(sizes);
  return wrap(sym.mlxs_slice_dynamic(a.handle, start.handle, ax, ax.length, sz, sz.length), "slice_dynamic");
}

/** A copy of src with src[start:stop:strides] = update (in place when src's buffer is donatable). */
export function sliceUpdate(
  src: MxArray,
  update: MxArray,
  start: readonly number[],
  stop: readonly number[],
  strides?: readonly number[],
): MxArray {
  const st = strides ? shapeArg(strides) : null;
  return wrap(sym.mlxs_slice_update(src.handle, update.handle, shapeArg(start), shapeArg(stop), st, start.length), "slice_update");
}

export function sliceUpdateDynamic(src: MxArray, update: MxArray, start: MxArray, axes: readonly number[]): MxArray {
  const ax = axesArg(axes);
  return wrap(sym.mlxs_slice_update_dynamic(src.handle, update.handle, start.handle, ax, ax.length), "slice_update_dynamic");
}

export function concatenate(arrays: readonly MxArray[], axis = 0): MxArray {
  return wrap(sym.mlxs_concatenate(handles(arrays), arrays.length, axis), "concatenate");
}

export function stack(arrays: readonly MxArray[], axis = 0): MxArray {
  return wrap(sym.mlxs_stack(handles(arrays), arrays.length, axis), "stack");
}

/** Splits into `sections` equal parts, or at the given indices. */
export function split(a: MxArray, sections: number | readonly number[], axis = 0): MxArray[] {
  const cap = typeof sections === "number" ? sections : sections.length + 1;
  const out = new OutBuffer(Math.max(cap, 1));
  const n =
    typeof sections === "number"
      ? sym.mlxs_split_equal(a.handle, sections, axis, out.ptr, out.slots)
      : sym.mlxs_split(a.handle, shapeArg(sections), sections.length, axis, out.ptr, out.slots);
  checkStatus(n, "split");
  return Array.from({ length: n }, (_, i) => new MxArray(out.i32(i)));
}

// Along `axis`, or over the flattened array when axis is undefined.
function flatOr(a: MxArray, axis: number | undefined, f: (h: number, axis: number) => number, name: string): MxArray {
  if (axis !== undefined) return wrap(f(a.handle, axis), name);
  using flat = reshape(a, [-1]);
  return wrap(f(flat.handle, 0), name);
}

export function take(a: MxArray, indices: MxArray, axis?: number): MxArray {
  return flatOr(a, axis, (h, ax) => sym.mlxs_take(h, indices.handle, ax), "take");
}

export function takeAlongAxis(a: MxArray, indices: MxArray, axis: number): MxArray {
  return wrap(sym.mlxs_take_along_axis(a.handle, indices.handle, axis), "take_along_axis");
}

export function putAlongAxis(a: MxArray, indices: MxArray, values: MxArray, axis: number): MxArray {
  return wrap(sym.mlxs_put_along_axis(a.handle, indices.handle, values.handle, axis), "put_along_axis");
}

export function broadcastTo(a: MxArray, shape: readonly number[]): MxArray {
  const sh = shapeArg(shape);
  return wrap(sym.mlxs_broadcast_to(a.handle, sh, sh.length), "broadcast_to");
}

/** Converts values to another dtype. */
export function astype(a: MxArray, dtype: Dtype): MxArray {
  return wrap(sym.mlxs_astype(a.handle, dtypeCode(dtype)), "astype");
}

/** Reinterprets the bytes as another dtype (the last axis scales by the itemsize ratio). */
export function view(a: MxArray, dtype: Dtype): MxArray {
  return wrap(sym.mlxs_view(a.handle, dtypeCode(dtype)), "view");
}

export function tril(a: MxArray, k = 0): MxArray {
  return wrap(sym.mlxs_tril(a.handle, k), "tril");
}

export function triu(a: MxArray, k = 0): MxArray {
  return wrap(sym.mlxs_triu(a.handle, k), "triu");
}

export function repeat(a: MxArray, repeats: number, axis?: number): MxArray {
  return flatOr(a, axis, (h, ax) => sym.mlxs_repeat(h, repeats, ax), "repeat");
}

/** Constant padding: padWidth[i] = [before, after] for axis i (axes beyond padWidth are not padded). */
export function pad(a: MxArray, padWidth: readonly (readonly [number, number])[], value = 0): MxArray {
  const axes = Int32Array.from(padWidth, (_, i) => i);
  const lo = Int32Array.from(padWidth, (w) => w[0]);
  const hi = Int32Array.from(padWidth, (w) => w[1]);
  return wrap(sym.mlxs_pad(a.handle, axes, lo, hi, padWidth.length, value), "pad");
}
