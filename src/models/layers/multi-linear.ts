// One matrix per attention head, stacked (H, out, in), as mlx-lm's MultiLinear (models/mla.py): x (…, H, L, in) →
// (…, H, L, out), or with `transpose` false x (…, L, out) → (…, H, L, in), the same weight read the other way. MLA
// attention absorbs kv_b_proj into two of these (DeepSeek-V3). Quantized along `in` like a Linear.
import { matmul, quantizedMatmul, swapaxes, type MxArray } from "../../ffi/index.ts";
import type { QuantParams, Weights } from "../weights.ts";
import { disposeAll } from "../dispose.ts";

export class MultiLinear implements Disposable {
  constructor(
    private readonly weight: MxArray,
    private readonly scales: MxArray | null = null,
    private readonly biases: MxArray | null = null,
    private readonly q: QuantParams | null = null,
  ) {}

  static load(ws: Weights, path: string): MultiLinear {
    const q = ws.quantFor(path);
    return new MultiLinear(ws.take(`${path}.weight`), q ? ws.take(`${path}.scales`) : null, q ? ws.takeOptional(`${path}.biases`) : null, q);
  }

  forward(x: MxArray, transpose = true): MxArray {
    if (this.q && this.scales) {
      return quantizedMatmul(x, this.weight, this.scales, this.biases, { transpose, groupSize: this.q.groupSize, bits: this.q.bits, mode: this.q.mode });
    }
    return matmul(x, transpose ? swapaxes(this.weight, -1, -2) : this.weight);
  }

  [Symbol.dispose](): void {
    disposeAll(this.weight, this.scales, this.biases);
  }
}
