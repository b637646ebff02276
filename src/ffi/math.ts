// Elementwise ops, reductions and sorting.
import { MxArray, wrap } from "./array.ts";
import { scalar } from "./creation.ts";
import { sym } from "./lib.ts";

/** An array, or a JS number that acts as MLX's weak scalar (it takes the array's floating dtype). */
export type Operand = MxArray | number;

const enum Unary {
  Neg, Abs, Exp, Log, Log1p, Sqrt, Rsqrt, Square, Sin, Cos, Tanh, Sigmoid, Erf, Floor, Ceil, Round, Sign,
  LogicalNot, Reciprocal, StopGradient, Copy, Contiguous, Silu, Gelu, GeluApprox, Relu, IsNan, IsInf, Expm1,
}

const enum Binary {
  Add, Subtract, Multiply, Divide, Maximum, Minimum, Power, Equal, NotEqual, Less, LessEqual, Greater,
  GreaterEqual, LogicalAnd, LogicalOr, FloorDivide, Remainder, Arctan2, LogAddExp,
}

const enum Reduce { Sum, Mean, Max, Min, Prod, All, Any, LogSumExp, Var }

const unary = (op: Unary, name: string) => (a: MxArray): MxArray => wrap(sym.mlxs_unary(op, a.handle), name);

export const negative = unary(Unary.Neg, "negative");
export const abs = unary(Unary.Abs, "abs");
export const exp = unary(Unary.Exp, "exp");
export const log = unary(Unary.Log, "log");
export const log1p = unary(Unary.Log1p, "log1p");
export const sqrt = unary(Unary.Sqrt, "sqrt");
export const rsqrt = unary(Unary.Rsqrt, "rsqrt");
export const square = unary(Unary.Square, "square");
export const sin = unary(Unary.Sin, "sin");
export const cos = unary(Unary.Cos, "cos");
export const tanh = unary(Unary.Tanh, "tanh");
export const sigmoid = unary(Unary.Sigmoid, "sigmoid");
export const erf = unary(Unary.Erf, "erf");
export const floor = unary(Unary.Floor, "floor");
export const ceil = unary(Unary.Ceil, "ceil");
export const round = unary(Unary.Round, "round");
export const sign = unary(Unary.Sign, "sign");
export const logicalNot = unary(Unary.LogicalNot, "logical_not");
export const reciprocal = unary(Unary.Reciprocal, "reciprocal");
export const stopGradient = unary(Unary.StopGradient, "stop_gradient");
export const copy = unary(Unary.Copy, "copy");
export const contiguous = unary(Unary.Contiguous, "contiguous");
/** x * sigmoid(x), as mlx.nn.silu. */
export const silu = unary(Unary.Silu, "silu");
/** x * (1 + erf(x / sqrt 2)) / 2, as mlx.nn.gelu. */
export const gelu = unary(Unary.Gelu, "gelu");
/** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as mlx.nn.gelu_approx. */
export const geluApprox = unary(Unary.GeluApprox, "gelu_approx");
export const relu = unary(Unary.Relu, "relu");
export const isnan = unary(Unary.IsNan, "isnan");
export const isinf = unary(Unary.IsInf, "isinf");
export const expm1 = unary(Unary.Expm1, "expm1");

function binaryOp(op: Binary, name: string) {
  return (a: Operand, b: Operand): MxArray => {
    if (a instanceof MxArray && b instanceof MxArray) return wrap(sym.mlxs_binary(op, a.handle, b.handle), name);
    if (a instanceof MxArray) return wrap(sym.mlxs_binary_scalar(op, a.handle, b as number, 0), name);
    if (b instanceof MxArray) return wrap(sym.mlxs_binary_scalar(op, b.handle, a, 1), name);
    using s = scalar(a);
    return wrap(sym.mlxs_binary_scalar(op, s.handle, b, 0), name);
  };
}

export const add = binaryOp(Binary.Add, "add");
export const subtract = binaryOp(Binary.Subtract, "subtract");
export const multiply = binaryOp(Binary.Multiply, "multiply");
export const divide = binaryOp(Binary.Divide, "divide");
export const maximum = binaryOp(Binary.Maximum, "maximum");
export const minimum = binaryOp(Binary.Minimum, "minimum");
export const power = binaryOp(Binary.Power, "power");
export const equal = binaryOp(Binary.Equal, "equal");
export const notEqual = binaryOp(Binary.NotEqual, "not_equal");
export const less = binaryOp(Binary.Less, "less");
export const lessEqual = binaryOp(Binary.LessEqual, "less_equal");
export const greater = binaryOp(Binary.Greater, "greater");
export const greaterEqual = binaryOp(Binary.GreaterEqual, "greater_equal");
export const logicalAnd = binaryOp(Binary.LogicalAnd, "logical_and");
export const logicalOr = binaryOp(Binary.LogicalOr, "logical_or");
export const floorDivide = binaryOp(Binary.FloorDivide, "floor_divide");
export const remainder = binaryOp(Binary.Remainder, "remainder");
export const arctan2 = binaryOp(Binary.Arctan2, "arctan2");
export const logaddexp = binaryOp(Binary.LogAddExp, "logaddexp");

/** cond ? x : y elementwise; a number operand takes the other operand's dtype. */
export function where(cond: MxArray, x: Operand, y: Operand): MxArray {
  const like = x instanceof MxArray ? x.dtype : y instanceof MxArray ? y.dtype : "float32";
  using xs = typeof x === "number" ? scalar(x, like) : undefined;
  using ys = typeof y === "number" ? scalar(y, like) : undefined;
  const xh = xs ? xs.handle : (x as MxArray).handle;
  const yh = ys ? ys.handle : (y as MxArray).handle;
  return wrap(sym.mlxs_where(cond.handle, xh, yh), "where");
}

export type Axes = number | readonly number[];

export function axesArg(axes: Axes | undefined): Int32Array {
  if (axes === undefined) return new Int32Array(0);
  return Int32Array.from(typeof axes === "number" ? [axes] : axes);
}

function reduceOp(op: Reduce, name: string) {
  return (a: MxArray, axes?: Axes, keepdims = false): MxArray => {
    const ax = axesArg(axes);
    return wrap(sym.mlxs_reduce(op, a.handle, ax, ax.length, keepdims ? 1 : 0), name);
  };
}

/** Reductions over `axes` (all axes when omitted). */
export const sum = reduceOp(Reduce.Sum, "sum");
export const mean = reduceOp(Reduce.Mean, "mean");
export const max = reduceOp(Reduce.Max, "max");
export const min = reduceOp(Reduce.Min, "min");
export const prod = reduceOp(Reduce.Prod, "prod");
export const all = reduceOp(Reduce.All, "all");
export const any = reduceOp(Reduce.Any, "any");
export const logsumexp = reduceOp(Reduce.LogSumExp, "logsumexp");
/** Population variance (ddof 0). */
export const variance = reduceOp(Reduce.Var, "var");

// Along `axis`, or over the flattened array when axis is undefined.
function alongAxis(a: MxArray, axis: number | undefined, f: (h: number, axis: number) => number, name: string) {
  if (axis !== undefined) return wrap(f(a.handle, axis), name);
  const flat = Int32Array.of(-1);
  using x = wrap(sym.mlxs_reshape(a.handle, flat, 1), "reshape");
  return wrap(f(x.handle, 0), name);
}

export function argmax(a: MxArray, axis?: number, keepdims = false): MxArray {
  return alongAxis(a, axis, (h, ax) => sym.mlxs_argmax(h, ax, keepdims ? 1 : 0), "argmax");
}

export function argmin(a: MxArray, axis?: number, keepdims = false): MxArray {
  return alongAxis(a, axis, (h, ax) => sym.mlxs_argmin(h, ax, keepdims ? 1 : 0), "argmin");
}

/** Clamps to [lo, hi]; an undefined bound is open. */
export function clip(a: MxArray, lo?: number, hi?: number): MxArray {
  return wrap(sym.mlxs_clip(a.handle, lo ?? Number.NaN, hi ?? Number.NaN), "clip");
}

export function softmax(a: MxArray, axes: Axes = -1, precise = false): MxArray {
  const ax = axesArg(axes);
  return wrap(sym.mlxs_softmax(a.handle, ax, ax.length, precise ? 1 : 0), "softmax");
}

export function cumsum(a: MxArray, axis?: number, { reverse = false, inclusive = true } = {}): MxArray {
  return alongAxis(a, axis, (h, ax) => sym.mlxs_cumsum(h, ax, reverse ? 1 : 0, inclusive ? 1 : 0), "cumsum");
}

export function sort(a: MxArray, axis = -1): MxArray {
  return wrap(sym.mlxs_sort(a.handle, axis), "sort");
}

export function argsort(a: MxArray, axis = -1): MxArray {
  return wrap(sym.mlxs_argsort(a.handle, axis), "argsort");
}

/** Indices such that the element at kth is in sorted position, smaller ones before it, larger after. */
export function argpartition(a: MxArray, kth: number, axis = -1): MxArray {
  return wrap(sym.mlxs_argpartition(a.handle, kth, axis), "argpartition");
}

/** The k largest values along axis (unordered). */
export function topk(a: MxArray, k: number, axis = -1): MxArray {
  return wrap(sym.mlxs_topk(a.handle, k, axis), "topk");
}
