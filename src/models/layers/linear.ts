// Dense or quantized linear layers and embeddings, as mlx-lm stores them: a quantized layer has a
// uint32-packed `weight` plus `scales` (and `biases` in affine mode), and keeps an optional float `bias`.
import { embedding, linear, type MxArray } from "../../ffi/index.ts";
import type { QuantParams, Weights } from "../weights.ts";

interface Packed {
  weight: MxArray;
  scales: MxArray | null;
  biases: MxArray | null;
  q: QuantParams | null;
}

function takePacked(ws: Weights, path: string): Packed {
  const q = ws.quantFor(path);
  const weight = ws.take(`${path}.weight`);
  const scales = q ? ws.take(`${path}.scales`) : null;
  const biases = q ? ws.takeOptional(`${path}.biases`) : null;
  if (q && q.mode === "affine" && !biases) throw new Error(`affine-quantized "${path}" has no biases`);
  return { weight, scales, biases, q };
}

function freePacked(p: Packed): void {
  p.weight.free();
  p.scales?.free();
  p.biases?.free();
}

function project(x: MxArray, p: Packed, bias: MxArray | null): MxArray {
  return linear(x, p.weight, {
    scales: p.scales,
    biases: p.biases,
    bias,
    groupSize: p.q?.groupSize,
    bits: p.q?.bits,
    mode: p.q?.mode,
  });
}

export class Linear implements Disposable {
  private constructor(
    private readonly p: Packed,
    private readonly bias: MxArray | null,
  ) {}

  static load(ws: Weights, path: string): Linear {
    const p = takePacked(ws, path);
    return new Linear(p, ws.takeOptional(`${path}.bias`));
  }

  forward(x: MxArray): MxArray {
    return project(x, this.p, this.bias);
  }

  [Symbol.dispose](): void {
    freePacked(this.p);
    this.bias?.free();
  }
}

export class Embedding implements Disposable {
  private constructor(private readonly p: Packed) {}

  static load(ws: Weights, path: string): Embedding {
    return new Embedding(takePacked(ws, path));
  }

  forward(ids: MxArray): MxArray {
    const p = this.p;
    return embedding(ids, p.weight, {
      scales: p.scales,
      biases: p.biases,
      groupSize: p.q?.groupSize,
      bits: p.q?.bits,
      mode: p.q?.mode,
    });
  }

  /** The tied output head: logits = h @ E^T (quantized_matmul for a quantized table). */
  asLinear(h: MxArray): MxArray {
    return project(h, this.p, null);
  }

  [Symbol.dispose](): void {
    freePacked(this.p);
  }
}
