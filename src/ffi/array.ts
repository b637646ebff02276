// MxArray: a JS owner of one shim handle. Free it with `using`, scope(), free() or dispose().
import { type Dtype, dtypeCode, dtypeOf } from "./dtype.ts";
import { checkHandle, checkNumber, checkStatus, checkString } from "./errors.ts";
import { sym } from "./lib.ts";
import { OutBuffer } from "./out.ts";

// Reused by every call: the shim writes into them, out.ts says why they are not plain typed arrays.
const shapeOut = new OutBuffer(64);
const itemOut = new OutBuffer(2);

export class MxArray implements Disposable {
  readonly handle: number;
  #freed = false;

  constructor(handle: number) {
    this.handle = handle;
  }

  get ndim(): number {
    return checkStatus(sym.mlxs_ndim(this.handle), "ndim");
  }

  get shape(): number[] {
    const nd = checkStatus(sym.mlxs_shape(this.handle, shapeOut.ptr, shapeOut.slots), "shape");
    if (nd > shapeOut.slots) throw new RangeError(`array has ${nd} dimensions, more than ${shapeOut.slots}`);
    const out = new Array<number>(nd);
    for (let i = 0; i < nd; i++) out[i] = shapeOut.i32(i);
    return out;
  }

  /** The name of the MLX primitive that computes this array ("" once it is evaluated). */
  get primitive(): string {
    return checkString(sym.mlxs_primitive_name(this.handle), "primitive_name");
  }

  get dtype(): Dtype {
    return dtypeOf(checkStatus(sym.mlxs_dtype(this.handle), "dtype"));
  }

  get size(): number {
    return checkNumber(sym.mlxs_size(this.handle), "size");
  }

  get nbytes(): number {
    return checkNumber(sym.mlxs_nbytes(this.handle), "nbytes");
  }

  /** Whether the handle is still live (not freed by free(), dispose or an enclosing scope). */
  get isValid(): boolean {
    return sym.mlxs_is_valid(this.handle) === 1;
  }

  /** Evaluates and returns the single element as a number (bool → 0/1, bf16/f16 widened). */
  item(): number {
    checkStatus(sym.mlxs_item(this.handle, itemOut.ptr), "item");
    return itemOut.f64(0);
  }

  /** Evaluates and copies out the raw bytes of the array's own dtype (row-major). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.nbytes);
    checkStatus(sym.mlxs_to_bytes(this.handle, out, out.byteLength), "to_bytes");
    return out;
  }

  toFloat32(): Float32Array {
    return new Float32Array(this.#bytesAs("float32").buffer);
  }

  toInt32(): Int32Array {
    return new Int32Array(this.#bytesAs("int32").buffer);
  }

  /** Nested JS arrays of numbers (values converted through float64). */
  toList(): number | NestedList {
    const flat = new Float64Array(this.#bytesAs("float64").buffer);
    const shape = this.shape;
    if (shape.length === 0) return flat[0] ?? Number.NaN;
    const build = (dim: number, offset: number): NestedList => {
      const n = shape[dim] ?? 0;
      const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out: NestedList = [];
      for (let i = 0; i < n; i++) {
        out.push(dim === shape.length - 1 ? (flat[offset + i] ?? Number.NaN) : build(dim + 1, offset + i * stride));
      }
      return out;
    };
    return build(0, 0);
  }

  /** Frees the handle now. Idempotent; harmless when a scope already freed it. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    if (sym.mlxs_is_valid(this.handle) === 1) sym.mlxs_free(this.handle);
  }

  [Symbol.dispose](): void {
    this.free();
  }

  toString(): string {
    return this.isValid ? `MxArray(${this.dtype}, [${this.shape.join(", ")}])` : `MxArray(freed #${this.handle})`;
  }

  #bytesAs(dtype: Dtype): Uint8Array {
    if (this.dtype === dtype) return this.toBytes();
    const h = checkHandle(sym.mlxs_astype(this.handle, dtypeCode(dtype)), "astype");
    try {
      const out = new Uint8Array(checkNumber(sym.mlxs_nbytes(h), "nbytes"));
      checkStatus(sym.mlxs_to_bytes(h, out, out.byteLength), "to_bytes");
      return out;
    } finally {
      sym.mlxs_free(h);
    }
  }
}

export type NestedList = (number | NestedList)[];

/** Wraps a handle returned by a shim op, throwing MlxError if it is the error value 0. */
export function wrap(h: number, what: string): MxArray {
  return new MxArray(checkHandle(h, what));
}

/** Handles of arrays as an Int32Array for (const int32_t*, n) arguments. */
export function handles(arrays: readonly MxArray[]): Int32Array {
  return Int32Array.from(arrays, (a) => a.handle);
}
