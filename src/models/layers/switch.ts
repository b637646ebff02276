// Mixture-of-experts feed-forward: experts stacked as [E, out, in] and applied per token through
// gather_mm / gather_qmm (mlx-lm's SwitchGLU). With 64 or more (token, expert) pairs the tokens are sorted
// by expert first, so each expert's weights are read once. gpt-oss's experts add a per-expert bias to each
// projection and use their own gated activation (models/gpt-oss.ts).
import {
  add,
  argsort,
  expandDims,
  flatten,
  gatherMm,
  gatherQmm,
  reshape,
  squeeze,
  swapaxes,
  swiglu,
  take,
  floorDivide,
  type MxArray,
} from "../../ffi/index.ts";
import type { QuantParams, Weights } from "../weights.ts";
import { disposeAll } from "../dispose.ts";

class SwitchLinear implements Disposable {
  private constructor(
    private readonly weight: MxArray,
    private readonly scales: MxArray | null,
    private readonly biases: MxArray | null,
    private readonly q: QuantParams | null,
    /** per-expert output bias (E, out), or null */
    private readonly bias: MxArray | null,
  ) {}

  static load(ws: Weights, path: string): SwitchLinear {
    const q = ws.quantFor(path);
    const bias = ws.takeOptional(`${path}.bias`);
    return new SwitchLinear(ws.take(`${path}.weight`), q ? ws.take(`${path}.scales`) : null, q ? ws.takeOptional(`${path}.biases`) : null, q, bias);
  }

  forward(x: MxArray, indices: MxArray, sorted: boolean): MxArray {
    const y = this.project(x, indices, sorted);
    // each (token, expert) row gets its expert's bias: bias[indices] broadcast over the singleton row axis
    return this.bias ? add(y, expandDims(take(this.bias, indices, 0), [-2])) : y;
  }

  private project(x: MxArray, indices: MxArray, sorted: boolean): MxArray {
    if (this.q && this.scales) {
      return gatherQmm(x, this.weight, this.scales, this.biases, {
        rhsIndices: indices,
        transpose: true,
        groupSize: this.q.groupSize,
        bits: this.q.bits,
        mode: this.q.mode,
        sortedIndices: sorted,
      });
    }
    return gatherMm(x, swapaxes(this.weight, -1, -2), { rhsIndices: indices, sortedIndices: sorted });
  }

  [Symbol.dispose](): void {
    disposeAll(this.weight, this.scales, this.biases, this.bias);
  }
}

/** The gate's activation times the up projection: SwiGLU by default; gpt-oss clamps both (models/gpt-oss.ts). */
export type GluActivation = (gate: MxArray, up: MxArray) => MxArray;

export class SwitchGLU implements Disposable {
  private constructor(
    private readonly gate: SwitchLinear,
    private readonly up: SwitchLinear,
    private readonly down: SwitchLinear,
    private readonly activation: GluActivation,
  ) {}

  static load(ws: Weights, path: string, activation: GluActivation = swiglu): SwitchGLU {
    return new SwitchGLU(SwitchLinear.load(ws, `${path}.gate_proj`), SwitchLinear.load(ws, `${path}.up_proj`), SwitchLinear.load(ws, `${path}.down_proj`), activation);
  }

  /** x: (B, L, D), indices: (B, L, k) → (B, L, k, D) */
  forward(x: MxArray, indices: MxArray): MxArray {
    let h = expandDims(x, [-2, -3]);
    const k = indices.shape[indices.ndim - 1]!;
    const sort = indices.size >= 64;
    let idx = indices;
    let inverse: MxArray | null = null;
    if (sort) {
      const flat = flatten(indices, 0, -1);
      const order = argsort(flat, 0);
      inverse = argsort(order, 0);
      h = take(flatten(h, 0, -3), floorDivide(order, k), 0);
      idx = take(flat, order, 0);
    }
    const y = this.down.forward(this.activation(this.gate.forward(h, idx, sort), this.up.forward(h, idx, sort)), idx, sort);
    if (inverse) {
      const unsorted = take(y, inverse, 0);
      return squeeze(reshape(unsorted, [...indices.shape, ...unsorted.shape.slice(1)]), [-2]);
    }
    return squeeze(y, [-2]);
  }

  [Symbol.dispose](): void {
    disposeAll(this.gate, this.up, this.down);
  }
}

