// Adam as mlx-lm trains LoRA with it (mlx.optimizers.Adam: betas 0.9/0.999, eps 1e-8, no bias correction by
// default; AdamW decays the weight first, p·(1 − lr·wd)): MLX has no C++ optimizers, so the update is written here
// in MLX ops, one step for every parameter, its state kept between steps.
import { add, divide, multiply, persist, scope, sqrt, square, subtract, zeros, type MxArray } from "../ffi/index.ts";

export interface AdamOptions {
  learningRate: number;
  betas?: [number, number];
  eps?: number;
  /** AdamW's decoupled weight decay (mlx's AdamW default is 0.01); 0 is Adam */
  weightDecay?: number;
  biasCorrection?: boolean;
}

export class Adam implements Disposable {
  private m: MxArray[] | null = null;
  private v: MxArray[] | null = null;
  private step = 0;

  constructor(private readonly o: AdamOptions) {}

  /** The parameters after one step from `grads` (new arrays, outside any scope; the caller frees the old ones). */
  update(params: readonly MxArray[], grads: readonly MxArray[], learningRate = this.o.learningRate): MxArray[] {
    const [b1, b2] = this.o.betas ?? [0.9, 0.999];
    const eps = this.o.eps ?? 1e-8;
    const wd = this.o.weightDecay ?? 0;
    this.step++;
    const m0 = this.m ?? params.map((p) => persist(zeros(p.shape, p.dtype)));
    const v0 = this.v ?? params.map((p) => persist(zeros(p.shape, p.dtype)));
    const out = scope(() =>
      params.map((p, i) => {
        const g = grads[i]!;
        const m = add(multiply(m0[i]!, b1), multiply(g, 1 - b1));
        const v = add(multiply(v0[i]!, b2), multiply(square(g), 1 - b2));
        const decayed = wd > 0 ? multiply(p, 1 - learningRate * wd) : p;
        let next: MxArray;
        if (this.o.biasCorrection) {
          const lr = learningRate / (1 - b1 ** this.step);
          next = subtract(decayed, divide(multiply(m, lr), add(divide(sqrt(v), Math.sqrt(1 - b2 ** this.step)), eps)));
        } else {
          next = subtract(decayed, divide(multiply(m, learningRate), add(sqrt(v), eps)));
        }
        return { next, m, v };
      }),
    );
    for (const a of [...m0, ...v0]) a.free();
    this.m = out.map((o) => persist(o.m));
    this.v = out.map((o) => persist(o.v));
    return out.map((o) => persist(o.next));
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.step;
  }

  /** Each parameter's first and second moments (empty before the first step): what a checkpoint keeps. */
  moments(): { m: MxArray[]; v: MxArray[] } {
    return { m: this.m ?? [], v: this.v ?? [] };
  }

  /** Continues from a checkpoint: `steps` taken, the moments (owned from now on; empty: none yet). */
  restore(steps: number, m: MxArray[], v: MxArray[]): void {
    for (const a of this.state()) a.free();
    this.step = steps;
    [this.m, this.v] = m.length > 0 ? [m, v] : [null, null];
  }

  /** The arrays to evaluate with the parameters after a step. */
  state(): MxArray[] {
    return [...(this.m ?? []), ...(this.v ?? [])];
  }

  [Symbol.dispose](): void {
    for (const a of this.state()) a.free();
    this.m = this.v = null;
  }
}
