// Arrays from JS data and constant constructors.
import { MxArray, wrap } from "./array.ts";
import { type Dtype, dtypeCode, itemsize } from "./dtype.ts";
import { sym } from "./lib.ts";

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export function shapeArg(shape: readonly number[]): Int32Array {
  return Int32Array.from(shape);
}

function naturalDtype(data: TypedArray): Dtype {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof BigInt64Array) return "int64";
  return "uint64";
}

// Typed arrays holding raw bit patterns of another dtype of the same width: u16 → bf16/f16, u8 → bool.
function isRawBits(data: TypedArray, dtype: Dtype): boolean {
  return (data instanceof Uint16Array && (dtype === "bfloat16" || dtype === "float16")) ||
    (data instanceof Uint8Array && dtype === "bool");
}

/**
 * An array from JS data. Typed arrays keep their own dtype (Float32Array → float32, Int32Array → int32, ...);
 * a Uint16Array with dtype bfloat16/float16 is taken as raw bits; number[] is float32 unless dtype says
 * otherwise; any other dtype converts the values. shape defaults to 1-D.
 */
export function array(data: readonly number[] | TypedArray, shape?: readonly number[], dtype?: Dtype): MxArray {
  const sh = shapeArg(shape ?? [data.length]);
  if (!Array.isArray(data)) {
    const typed = data as TypedArray;
    const natural = naturalDtype(typed);
    const want = dtype ?? natural;
    if (want === natural || isRawBits(typed, want)) return fromBytes(typed, shape ?? [typed.length], want);
    if (typed instanceof BigInt64Array || typed instanceof BigUint64Array) {
      throw new TypeError(`array(): ${natural} data cannot be converted to ${want}; use astype()`);
    }
    return wrap(sym.mlxs_from_f64(Float64Array.from(typed), sh, sh.length, dtypeCode(want)), "array");
  }
  const values = Float64Array.from(data as readonly number[]);
  return wrap(sym.mlxs_from_f64(values, sh, sh.length, dtypeCode(dtype ?? "float32")), "array");
}

/** An array over a copy of raw bytes laid out row-major in `dtype`. */
export function fromBytes(bytes: TypedArray | ArrayBuffer, shape: readonly number[], dtype: Dtype): MxArray {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sh = shapeArg(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  if (view.byteLength !== n * itemsize(dtype)) {
    throw new RangeError(`fromBytes: ${view.byteLength} bytes for shape [${shape.join(", ")}] of ${dtype}`);
  }
  // A zero-length view may have no backing pointer; the shim reads nothing then.
  const src = view.byteLength > 0 ? view : new Uint8Array(1);
  return wrap(sym.mlxs_from_bytes(src, view.byteLength, sh, sh.length, dtypeCode(dtype)), "from_bytes");
}

export function scalar(value: number, dtype: Dtype = "float32"): MxArray {
  return wrap(sym.mlxs_scalar(value, dtypeCode(dtype)), "scalar");
}

export function zeros(shape: readonly number[], dtype: Dtype = "float32"): MxArray {
  const sh = shapeArg(shape);
  return wrap(sym.mlxs_zeros(sh, sh.length, dtypeCode(dtype)), "zeros");
}

export function ones(shape: readonly number[], dtype: Dtype = "float32"): MxArray {
  const sh = shapeArg(shape);
  return wrap(sym.mlxs_ones(sh, sh.length, dtypeCode(dtype)), "ones");
}

export function full(shape: readonly number[], value: number, dtype: Dtype = "float32"): MxArray {
  const sh = shapeArg(shape);
  return wrap(sym.mlxs_full(sh, sh.length, value, dtypeCode(dtype)), "full");
}

/** arange(stop) or arange(start, stop, step); int32 when all bounds are integers, else float32. */
export function arange(start: number, stop?: number, step = 1, dtype?: Dtype): MxArray {
  const [lo, hi] = stop === undefined ? [0, start] : [start, stop];
  const dt = dtype ?? ([lo, hi, step].every(Number.isInteger) ? "int32" : "float32");
  return wrap(sym.mlxs_arange(lo, hi, step, dtypeCode(dt)), "arange");
}

/** Ones on and below the k-th diagonal of an n×m matrix. */
export function tri(n: number, m = n, k = 0, dtype: Dtype = "float32"): MxArray {
  return wrap(sym.mlxs_tri(n, m, k, dtypeCode(dtype)), "tri");
}
