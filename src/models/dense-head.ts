// sentence-transformers' Dense modules: projections of the pooled vector, each with its activation (EmbeddingGemma:
// 768 → 3072 → 768, no activation). Named dense.0, dense.1, … as mlx-community conversions keep them in the model's
// own weights (and as the GGUF loader names llama.cpp's dense_2/dense_3 and Ollama's dense.0/dense.1).
import { tanh, type MxArray } from "../ffi/index.ts";
import type { DenseActivation } from "../formats/sentence-transformers.ts";
import { Linear } from "./layers/linear.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

export class DenseHead implements Disposable {
  private constructor(private readonly layers: readonly { linear: Linear; activation: DenseActivation }[]) {}

  /** dense.0, dense.1, … as many as `ws` has, with the activations given (identity past their end), or null for none. */
  static load(ws: Weights, activations: readonly DenseActivation[]): DenseHead | null {
    const layers: { linear: Linear; activation: DenseActivation }[] = [];
    for (let i = 0; ws.has(`dense.${i}.weight`); i++) layers.push({ linear: Linear.load(ws, `dense.${i}`), activation: activations[i] ?? "identity" });
    return layers.length > 0 ? new DenseHead(layers) : null;
  }

  /** pooled (B, H) → (B, out) */
  forward(pooled: MxArray): MxArray {
    let x = pooled;
    for (const { linear, activation } of this.layers) {
      x = linear.forward(x);
      if (activation === "tanh") x = tanh(x);
    }
    return x;
  }

  [Symbol.dispose](): void {
    disposeAll(this.layers.map((l) => l.linear));
  }
}
