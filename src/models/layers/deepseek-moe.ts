// DeepSeek's mixture of experts (mlx-lm's deepseek_v2.py / deepseek_v3.py MoEGate + MoE, also GLM-4.5's): routed
// SwiGLU experts (switch_mlp), weighted by the gate's scores, plus always-on shared experts.
// Two gates:
// - softmax (V2): top-k of softmax(x Wᵀ), optionally group-limited ("group_limited_greedy": the experts of all but
//   the best topk_group groups, by their best expert, are zeroed first), times routed_scaling_factor.
// - sigmoid with a selection bias ("noaux_tc": V3, GLM-4.5): sigmoid(x Wᵀ) in float32; experts are chosen on the
//   scores plus e_score_correction_bias, within the topk_group groups whose two best biased scores sum highest,
//   and weighted by their unbiased scores, renormalized (norm_topk_prob), times routed_scaling_factor.
import {
  add,
  argpartition,
  astype,
  divide,
  expandDims,
  flatten,
  matmul,
  max,
  multiply,
  negative,
  putAlongAxis,
  reshape,
  scalar,
  sigmoid,
  slice,
  softmax,
  sum,
  swapaxes,
  takeAlongAxis,
  topk,
  type MxArray,
} from "../../ffi/index.ts";
import type { GatedMLP } from "./mlp.ts";
import type { SwitchGLU } from "./switch.ts";
import type { Weights } from "../weights.ts";
import { disposeAll } from "../dispose.ts";

export interface GateOptions {
  topK: number;
  routedScalingFactor: number;
  /** expert groups and how many of them a token may use (1 group: no limit) */
  nGroup: number;
  topkGroup: number;
}

export type DeepseekGate =
  | ({ kind: "softmax"; groupLimited: boolean } & GateOptions)
  | ({ kind: "sigmoid"; normTopkProb: boolean } & GateOptions);

/** The first k entries along `axis` of x. */
function leading(x: MxArray, k: number, axis: number): MxArray {
  const ax = axis < 0 ? x.ndim + axis : axis;
  const stop = [...x.shape];
  stop[ax] = k;
  return slice(x, x.shape.map(() => 0), stop);
}

/** argpartition(-scores)[..., :k]: the k best experts, unordered. */
function topIndices(scores: MxArray, k: number): MxArray {
  return leading(argpartition(negative(scores), k - 1, -1), k, -1);
}

/** Zeroes the experts of the n_group - topk_group groups that score lowest by `groupScore`. */
function dropWeakGroups(scores: MxArray, g: GateOptions, groupScore: (grouped: MxArray) => MxArray): MxArray {
  const shape = scores.shape;
  const grouped = reshape(scores, [...shape.slice(0, -1), g.nGroup, shape[shape.length - 1]! / g.nGroup]);
  const k = g.nGroup - g.topkGroup;
  const weakest = leading(argpartition(groupScore(grouped), k - 1, -2), k, -2);
  using zero = scalar(0, scores.dtype);
  return flatten(putAlongAxis(grouped, weakest, zero, -2), -2, -1);
}

export class DeepseekMoE implements Disposable {
  constructor(
    private readonly gate: DeepseekGate,
    private readonly gateWeight: MxArray,
    /** the sigmoid gate's e_score_correction_bias */
    private readonly correctionBias: MxArray | null,
    private readonly experts: SwitchGLU,
    private readonly shared: GatedMLP | null,
  ) {}

  static load(ws: Weights, path: string, gate: DeepseekGate, experts: SwitchGLU, shared: GatedMLP | null): DeepseekMoE {
    const bias = gate.kind === "sigmoid" ? ws.take(`${path}.gate.e_score_correction_bias`) : null;
    return new DeepseekMoE(gate, ws.take(`${path}.gate.weight`), bias, experts, shared);
  }

  /** The chosen experts (…, k) and their weights. */
  route(x: MxArray): [MxArray, MxArray] {
    const g = this.gate;
    const logits = matmul(x, swapaxes(this.gateWeight, -1, -2));
    if (g.kind === "softmax") {
      let scores = softmax(logits, [-1], true);
      if (g.groupLimited) scores = dropWeakGroups(scores, g, (grouped) => max(grouped, [-1], true));
      const inds = topIndices(scores, g.topK);
      return [inds, multiply(takeAlongAxis(scores, inds, -1), g.routedScalingFactor)];
    }
    const probs = sigmoid(astype(logits, "float32"));
    let biased = add(probs, this.correctionBias!);
    if (g.nGroup > 1) biased = dropWeakGroups(biased, g, (grouped) => sum(topk(grouped, 2, -1), [-1], true));
    const inds = topIndices(biased, g.topK);
    let scores = takeAlongAxis(probs, inds, -1);
    if (g.topK > 1 && g.normTopkProb) scores = divide(scores, sum(scores, [-1], true));
    return [inds, multiply(scores, g.routedScalingFactor)];
  }

  forward(x: MxArray): MxArray {
    const [inds, scores] = this.route(x);
    const y = this.experts.forward(x, inds);
    let out = sum(multiply(y, expandDims(scores, [-1])), [-2]);
    // V3's and GLM's float32 weights are cast back to the activations' dtype; V2's gate keeps that dtype already
    if (this.gate.kind === "sigmoid") out = astype(out, y.dtype);
    return this.shared ? add(out, this.shared.forward(x)) : out;
  }

  [Symbol.dispose](): void {
    disposeAll(this.gateWeight, this.correctionBias, this.experts, this.shared);
  }
}
