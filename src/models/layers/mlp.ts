// Gated MLPs: SwiGLU down(silu(gate)·up) and GeGLU down(gelu_approx(gate)·up), separate or fused gate_up; and the
// ungated GPT-style MLP, c_proj(gelu(c_fc(x))) (StarCoder2).
import { gegluApprox, gelu, split, swiglu, type MxArray } from "../../ffi/index.ts";
import type { Weights } from "../weights.ts";
import { Linear } from "./linear.ts";
import { disposeAll } from "../dispose.ts";

export type GateActivation = "silu" | "gelu_approx";

export class GatedMLP implements Disposable {
  private constructor(
    private readonly proj: { gate: Linear; up: Linear } | { gateUp: Linear },
    private readonly down: Linear,
    private readonly activation: GateActivation,
  ) {}

  static load(ws: Weights, path: string, activation: GateActivation = "silu", fused = false): GatedMLP {
    const down = Linear.load(ws, `${path}.down_proj`);
    if (fused) return new GatedMLP({ gateUp: Linear.load(ws, `${path}.gate_up_proj`) }, down, activation);
    return new GatedMLP({ gate: Linear.load(ws, `${path}.gate_proj`), up: Linear.load(ws, `${path}.up_proj`) }, down, activation);
  }

  /** The same under other names (LFM2's feed_forward: w1 gate, w3 up, w2 down). */
  static loadNamed(ws: Weights, path: string, names: { gate: string; up: string; down: string }, activation: GateActivation = "silu"): GatedMLP {
    const proj = { gate: Linear.load(ws, `${path}.${names.gate}`), up: Linear.load(ws, `${path}.${names.up}`) };
    return new GatedMLP(proj, Linear.load(ws, `${path}.${names.down}`), activation);
  }

  forward(x: MxArray): MxArray {
    let gate: MxArray, up: MxArray;
    if ("gateUp" in this.proj) [gate, up] = split(this.proj.gateUp.forward(x), 2, -1) as [MxArray, MxArray];
    else {
      gate = this.proj.gate.forward(x);
      up = this.proj.up.forward(x);
    }
    return this.down.forward(this.activation === "silu" ? swiglu(gate, up) : gegluApprox(gate, up));
  }

  [Symbol.dispose](): void {
    disposeAll(Object.values(this.proj), this.down);
  }
}

/** c_proj(gelu(c_fc(x))): mlx.nn.gelu, the exact (erf) one; biases where the checkpoint has them. */
export class GeluMLP implements Disposable {
  private constructor(
    private readonly fc: Linear,
    private readonly proj: Linear,
  ) {}

  static load(ws: Weights, path: string): GeluMLP {
    return new GeluMLP(Linear.load(ws, `${path}.c_fc`), Linear.load(ws, `${path}.c_proj`));
  }

  forward(x: MxArray): MxArray {
    return this.proj.forward(gelu(this.fc.forward(x)));
  }

  [Symbol.dispose](): void {
    disposeAll(this.fc, this.proj);
  }
}
