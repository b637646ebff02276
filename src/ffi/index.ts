// The MLX API for the rest of ollmlx: plain named exports, meant to be imported as a namespace:
//
//   import * as mx from "../ffi/index.ts";
//   using y = mx.matmul(x, w);   const z = mx.scope(() => mx.add(mx.exp(y), 1));
//   const cache = mx.persist(next);   // outlives every open scope; its owner frees it
//
// Names are MLX's in camelCase. Grouped APIs are objects: mx.random.*, mx.memory.*, mx.device.*.
// `eval` and `var` are exported under those names (usable as mx.eval / mx.var) and as evaluate / variance.
export { MxArray, type NestedList } from "./array.ts";
export { type Dtype, DTYPES, itemsize, isFloating } from "./dtype.ts";
export { MlxError } from "./errors.ts";
export { shimCandidates } from "./lib.ts";
export { scope, persist, retain, liveCount } from "./scope.ts";
export { type TypedArray, array, fromBytes, scalar, zeros, ones, full, arange, tri } from "./creation.ts";
export * from "./math.ts";
export { variance as var } from "./math.ts";
export * from "./shape.ts";
export * from "./nn.ts";
export { random, type RandomOptions } from "./random.ts";
export { checkpoint, valueAndGrad } from "./autograd.ts";
export { SafetensorsFile, openSafetensors, loadSafetensors, saveSafetensors , ggufRepack } from "./io.ts";
export { evaluate, evaluate as eval, asyncEval, synchronize, clearStreams, mlxVersion, memory, clearCache, device, cpuKernels, type DeviceKind, type CpuKernels, type CpuActivations } from "./runtime.ts";
