import { add, rmsNorm, layerNorm, type MxArray } from "../../ffi/index.ts";
import type { Weights } from "../weights.ts";
import { disposeAll } from "../dispose.ts";

/** What a block or the model's final norm does, RMSNorm or LayerNorm. */
export interface Norm extends Disposable {
  forward(x: MxArray): MxArray;
}

export class RMSNorm implements Norm {
  private constructor(
    private readonly weight: MxArray,
    private readonly eps: number,
  ) {}

  static load(ws: Weights, path: string, eps: number): RMSNorm {
    return new RMSNorm(ws.take(`${path}.weight`), eps);
  }

  /** Gemma's RMSNorm scales by (1 + w): the checkpoint stores w - 1. Added once here, in the weight's dtype. */
  static loadOffset(ws: Weights, path: string, eps: number): RMSNorm {
    const w = ws.take(`${path}.weight`);
    const shifted = add(w, 1);
    w.free();
    return new RMSNorm(shifted, eps);
  }

  forward(x: MxArray): MxArray {
    return rmsNorm(x, this.weight, this.eps);
  }

  [Symbol.dispose](): void {
    disposeAll(this.weight);
  }
}

export class LayerNorm implements Norm {
  private constructor(
    private readonly weight: MxArray | null,
    private readonly bias: MxArray | null,
    private readonly eps: number,
  ) {}

  static load(ws: Weights, path: string, eps: number): LayerNorm {
    return new LayerNorm(ws.takeOptional(`${path}.weight`), ws.takeOptional(`${path}.bias`), eps);
  }

  forward(x: MxArray): MxArray {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }

  [Symbol.dispose](): void {
    disposeAll(this.weight, this.bias);
  }
}
