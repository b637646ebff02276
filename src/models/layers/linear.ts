// Dense or quantized linear layers and embeddings, as mlx-lm stores them: a quantized layer has a
// uint32-packed `weight` plus `scales` (and `biases` in affine mode), and keeps an optional float `bias`. A layer
// with a LoRA adapter adds scale · (x A) B unfused, as mlx-lm's LoRALinear does (A, B float32; frozen base), x going
// through the adapter's dropout first while a training step sets one.
import { add, astype, embedding, less, linear, matmul, multiply, random, type MxArray } from "../../ffi/index.ts";
import { ModelLoadError } from "../errors.ts";
import type { QuantParams, Weights } from "../weights.ts";
import { disposeAll } from "../dispose.ts";

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
    activations: p.q?.activations,
  });
}

/** A layer's adapter: A [in, r] and B [r, out], float32. Training swaps them for traced and updated arrays. */
export interface Lora {
  a: MxArray;
  b: MxArray;
  readonly scale: number;
  /** set by a training step for its one forward (train/lora.ts), absent otherwise: the adapter's input dropout */
  dropout?: { p: number; key: MxArray } | null;
}

/**
 * nn.Dropout(p) in training mode, as mlx-lm's LoRALinear applies it to the adapter's input: each element kept with
 * probability 1 − p (mx.random.bernoulli: a uniform draw below 1 − p) and the kept ones scaled by 1 / (1 − p).
 */
export function dropout(x: MxArray, p: number, key: MxArray): MxArray {
  if (p === 0) return x;
  const keep = 1 - p;
  const mask = less(random.uniform(x.shape, { key }), keep);
  return multiply(multiply(mask, x), 1 / keep);
}

export class Linear implements Disposable {
  private constructor(
    private readonly p: Packed,
    private readonly bias: MxArray | null,
    private readonly lora: Lora | null,
  ) {}

  static load(ws: Weights, path: string): Linear {
    const p = takePacked(ws, path);
    const bias = ws.takeOptional(`${path}.bias`);
    const a = ws.takeOptional(`${path}.lora_a`);
    const b = ws.takeOptional(`${path}.lora_b`);
    if (!a || !b) {
      a?.free();
      b?.free();
      return new Linear(p, bias, null);
    }
    // the base's in features: a packed row holds 32 / bits values per uint32
    const packedIn = p.weight.shape[p.weight.shape.length - 1]!;
    const inFeatures = p.q ? (packedIn * 32) / p.q.bits : packedIn;
    const outFeatures = p.weight.shape[0]!;
    if (a.shape[0] !== inFeatures || b.shape[1] !== outFeatures) {
      const message = `the adapter's ${path} is [${a.shape[0]} → ${b.shape[1]}] but the model's layer is [${inFeatures} → ${outFeatures}]`;
      for (const t of [a, b]) t.free();
      freePacked(p);
      bias?.free();
      throw new ModelLoadError(message);
    }
    const lora = { a, b, scale: ws.loraScale };
    ws.loras.set(path, lora);
    return new Linear(p, bias, lora);
  }

  forward(x: MxArray): MxArray {
    const y = project(x, this.p, this.bias);
    const l = this.lora;
    if (!l) return y;
    const d = l.dropout;
    const input = d ? dropout(x, d.p, d.key) : x;
    return add(y, astype(multiply(matmul(matmul(input, l.a), l.b), l.scale), x.dtype));
  }

  [Symbol.dispose](): void {
    freePacked(this.p);
    disposeAll(this.bias, this.lora?.a, this.lora?.b);
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
