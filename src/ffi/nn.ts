// Matmul, quantization, the fused helpers (linear, embedding, swiglu) and mlx::fast (norms, rope, sdpa).
import { MxArray, wrap } from "./array.ts";
import { type Dtype, dtypeCode } from "./dtype.ts";
import { checkStatus } from "./errors.ts";
import { sym } from "./lib.ts";
import { OutBuffer } from "./out.ts";

export type QuantMode = "affine" | "mxfp4" | "mxfp8" | "nvfp4";
const QUANT_MODES: readonly QuantMode[] = ["affine", "mxfp4", "mxfp8", "nvfp4"];

/** groupSize/bits omitted = MLX's defaults for the mode (affine: 64 and 4). */
export interface QuantOptions {
  groupSize?: number;
  bits?: number;
  mode?: QuantMode;
  /**
   * "int8": an affine layer whose products on the shim's CPU kernels round x to int8 in runs of 32, as llama.cpp
   * computes a GGUF's quantized layers (4-bit layers, where the CPU has an int8 kernel and cpuKernels' activations
   * policy is "per-layer"); MLX's own ops ignore it.
   */
  activations?: "int8";
}

/** A quantized matrix as mx.quantize returns it; biases only in affine mode. */
export interface Quantized {
  wq: MxArray;
  scales: MxArray;
  biases?: MxArray;
}

/** How a quantized weight is passed to linear/embedding: its scales (and affine biases) plus QuantOptions. */
export interface QuantizedWith extends QuantOptions {
  scales?: MxArray | null;
  biases?: MxArray | null;
}

type Opt = MxArray | null | undefined;
const h = (a: Opt): number => a?.handle ?? 0;

/** mlxs.h's mlxs_quant_mode: MLX's modes in order, then MLXS_AFFINE_Q8 (affine, int8 activations). */
function modeCode(mode: QuantMode | undefined, activations?: "int8"): number {
  const m = mode ?? "affine";
  return m === "affine" && activations === "int8" ? QUANT_MODES.length : QUANT_MODES.indexOf(m);
}

export function matmul(a: MxArray, b: MxArray): MxArray {
  return wrap(sym.mlxs_matmul(a.handle, b.handle), "matmul");
}

/** beta * c + alpha * (a @ b) */
export function addmm(c: MxArray, a: MxArray, b: MxArray, alpha = 1, beta = 1): MxArray {
  return wrap(sym.mlxs_addmm(c.handle, a.handle, b.handle, alpha, beta), "addmm");
}

// The shim writes the three handles of quantize() here (out.ts says why it is not a plain typed array).
const quantizeOut = new OutBuffer(3);

/** Quantizes w along its last axis. */
export function quantize(w: MxArray, opts: QuantOptions = {}): Quantized {
  checkStatus(sym.mlxs_quantize(w.handle, opts.groupSize ?? 0, opts.bits ?? 0, modeCode(opts.mode), quantizeOut.ptr), "quantize");
  const [wq, scales, biases] = [quantizeOut.i32(0), quantizeOut.i32(1), quantizeOut.i32(2)];
  return { wq: new MxArray(wq), scales: new MxArray(scales), ...(biases ? { biases: new MxArray(biases) } : {}) };
}

/** The float matrix of a quantized one, in `dtype` (default: the scales' dtype). */
export function dequantize(wq: MxArray, scales: MxArray, biases: Opt, opts: QuantOptions & { dtype?: Dtype } = {}): MxArray {
  const dt = opts.dtype === undefined ? -1 : dtypeCode(opts.dtype);
  return wrap(
    sym.mlxs_dequantize(wq.handle, scales.handle, h(biases), opts.groupSize ?? 0, opts.bits ?? 0, modeCode(opts.mode), dt),
    "dequantize",
  );
}

/** x @ dequantize(w).T (transpose, the default) or x @ dequantize(w). */
export function quantizedMatmul(
  x: MxArray,
  wq: MxArray,
  scales: MxArray,
  biases: Opt,
  opts: QuantOptions & { transpose?: boolean } = {},
): MxArray {
  return wrap(
    sym.mlxs_quantized_matmul(
      x.handle, wq.handle, scales.handle, h(biases), opts.transpose === false ? 0 : 1,
      opts.groupSize ?? 0, opts.bits ?? 0, modeCode(opts.mode, opts.activations),
    ),
    "quantized_matmul",
  );
}

export interface GatherOptions {
  lhsIndices?: MxArray | null;
  rhsIndices?: MxArray | null;
  sortedIndices?: boolean;
}

/** quantized_matmul with matrix-level gathers (mixture of experts). */
export function gatherQmm(
  x: MxArray,
  wq: MxArray,
  scales: MxArray,
  biases: Opt,
  opts: QuantOptions & GatherOptions & { transpose?: boolean } = {},
): MxArray {
  return wrap(
    sym.mlxs_gather_qmm(
      x.handle, wq.handle, scales.handle, h(biases), h(opts.lhsIndices), h(opts.rhsIndices),
      opts.transpose === false ? 0 : 1, opts.groupSize ?? 0, opts.bits ?? 0, modeCode(opts.mode), opts.sortedIndices ? 1 : 0,
    ),
    "gather_qmm",
  );
}

export function gatherMm(a: MxArray, b: MxArray, opts: GatherOptions = {}): MxArray {
  return wrap(
    sym.mlxs_gather_mm(a.handle, b.handle, h(opts.lhsIndices), h(opts.rhsIndices), opts.sortedIndices ? 1 : 0),
    "gather_mm",
  );
}

/**
 * x @ w.T (+ bias) as mlx.nn.Linear; with opts.scales, w is quantized (out, in*bits/32) and this is
 * QuantizedLinear: quantized_matmul(x, w, scales, biases, transpose) (+ bias).
 */
export function linear(x: MxArray, w: MxArray, opts: QuantizedWith & { bias?: MxArray | null } = {}): MxArray {
  return wrap(
    sym.mlxs_linear(x.handle, w.handle, h(opts.scales), h(opts.biases), h(opts.bias), opts.groupSize ?? 0, opts.bits ?? 0, modeCode(opts.mode, opts.activations)),
    "linear",
  );
}

/** Rows `ids` of an embedding table; with opts.scales the table is quantized and the rows are dequantized. */
export function embedding(ids: MxArray, w: MxArray, opts: QuantizedWith = {}): MxArray {
  return wrap(
    sym.mlxs_embedding(ids.handle, w.handle, h(opts.scales), h(opts.biases), opts.groupSize ?? 0, opts.bits ?? 0, modeCode(opts.mode)),
    "embedding",
  );
}

/** silu(gate) * up, compiled. */
export function swiglu(gate: MxArray, up: MxArray): MxArray {
  return wrap(sym.mlxs_swiglu(gate.handle, up.handle), "swiglu");
}

/** gelu_approx(gate) * up, compiled. */
export function gegluApprox(gate: MxArray, up: MxArray): MxArray {
  return wrap(sym.mlxs_geglu_approx(gate.handle, up.handle), "geglu_approx");
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
}

/** mx.conv1d: x (N, L, C_in), w (C_out, K, C_in / groups) → (N, L_out, C_out). */
export function conv1d(x: MxArray, w: MxArray, opts: Conv1dOptions = {}): MxArray {
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = opts;
  return wrap(sym.mlxs_conv1d(x.handle, w.handle, stride, padding, dilation, groups), "conv1d");
}

/** mlx-lm's gated delta rule (gated_delta.py), compiled as it compiles it: each head's decay per token. */
export function gatedDeltaDecay(aLog: MxArray, a: MxArray, dtBias: MxArray): MxArray {
  return wrap(sym.mlxs_gdn_decay(aLog.handle, a.handle, dtBias.handle), "gdn_decay");
}

/** One recurrent step: q, k (B, H, Dk), v (B, H, Dv), g, beta (B, H), state (B, H, Dv, Dk) → [y (B, H, Dv), state]. */
const gdnOut = new OutBuffer(2);

export function gatedDeltaStep(q: MxArray, k: MxArray, v: MxArray, g: MxArray, beta: MxArray, state: MxArray): [MxArray, MxArray] {
  const out = gdnOut;
  checkStatus(sym.mlxs_gdn_step(q.handle, k.handle, v.handle, g.handle, beta.handle, state.handle, out.ptr), "gdn_step");
  return [new MxArray(out.i32(0)), new MxArray(out.i32(1))];
}

/** mlx-lm's precise_swiglu: silu(gate) · x in float32, cast to h's dtype (compiled). */
export function preciseSwiglu(h: MxArray, gate: MxArray, x: MxArray): MxArray {
  return wrap(sym.mlxs_precise_swiglu(h.handle, gate.handle, x.handle), "precise_swiglu");
}

export function rmsNorm(x: MxArray, weight: Opt, eps: number): MxArray {
  return wrap(sym.mlxs_rms_norm(x.handle, h(weight), eps), "rms_norm");
}

export function layerNorm(x: MxArray, weight: Opt, bias: Opt, eps: number): MxArray {
  return wrap(sym.mlxs_layer_norm(x.handle, h(weight), h(bias), eps), "layer_norm");
}

export interface RopeOptions {
  dims: number;
  /** true rotates adjacent pairs (GPT-J / llama.cpp NORM), false the two halves (NEOX). */
  traditional: boolean;
  /** Frequency base; give either base or freqs. */
  base?: number | null;
  /** Periods (dims/2 of them) for scaled variants (llama3, yarn): the kernel uses 1/freqs. */
  freqs?: MxArray | null;
  scale?: number;
  /** Position of x's first row: a number, or an int array of size 1 or B. */
  offset?: number | MxArray;
}

/** Rotary position embedding of x (..., L, D) along axis -2. */
export function rope(x: MxArray, opts: RopeOptions): MxArray {
  const base = opts.base ?? Number.NaN;
  const offset = opts.offset ?? 0;
  const offsetNum = typeof offset === "number" ? offset : 0;
  const offsetArr = typeof offset === "number" ? 0 : offset.handle;
  return wrap(
    sym.mlxs_rope(x.handle, opts.dims, opts.traditional ? 1 : 0, base, opts.scale ?? 1, offsetNum, offsetArr, h(opts.freqs)),
    "rope",
  );
}

export interface SdpaOptions {
  scale: number;
  /**
   * "causal" (aligned bottom-right), a bool (true = attend) / additive mask broadcastable to (B, H, Lq, Lk), or
   * `starts` (int32, B): row b's keys before starts[b] are a batch's left padding, the rest seen causally.
   */
  mask?: "causal" | MxArray | { starts: MxArray } | null;
  /** Per-head logit sinks, shape (n_heads,). */
  sinks?: MxArray | null;
}

/** softmax(q k^T * scale + mask) v for q (B, H, Lq, D), k/v (B, Hkv, Lk, D); GQA when Hkv divides H. */
export function sdpa(q: MxArray, k: MxArray, v: MxArray, opts: SdpaOptions): MxArray {
  if (opts.mask && typeof opts.mask === "object" && "starts" in opts.mask) {
    if (opts.sinks) throw new Error("sdpa: sinks with a padded batch are not supported");
    return wrap(sym.mlxs_sdpa_padded(q.handle, k.handle, v.handle, opts.scale, opts.mask.starts.handle), "sdpa");
  }
  const kind = opts.mask == null ? 0 : opts.mask === "causal" ? 1 : 2;
  const mask = opts.mask instanceof MxArray ? opts.mask.handle : 0;
  return wrap(sym.mlxs_sdpa(q.handle, k.handle, v.handle, opts.scale, kind, mask, h(opts.sinks)), "sdpa");
}
