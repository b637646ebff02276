// The pre-norm block of the hybrid recurrent architectures (LFM2, Qwen3.5): x + op(norm(x)), h + mlp(norm(h)),
// where op is attention in some layers and a recurrent mixer (short conv, gated delta-net) in the others. Which
// one it is decides the layer's cache: a KVCache for attention, a StateCache for the recurrent mixers.
import { add, type MxArray } from "../../ffi/index.ts";
import type { Block } from "../model.ts";
import type { LayerKV } from "./batch-cache.ts";
import type { Norm } from "./norm.ts";
import { disposeAll } from "../dispose.ts";

/** A layer's token mixer: attention, or a recurrent one that keeps its rows' state in their StateCaches. */
export interface Mixer extends Disposable {
  forward(x: MxArray, kv: LayerKV): MxArray;
}

export class HybridBlock implements Block {
  readonly sliding = false;

  constructor(
    /** true: `mixer` is attention (a KVCache layer); false: a recurrent mixer (a StateCache layer) */
    readonly attention: boolean,
    private readonly mixer: Mixer,
    private readonly mlp: { forward(x: MxArray): MxArray } & Disposable,
    private readonly mixerNorm: Norm,
    private readonly mlpNorm: Norm,
  ) {}

  forward(x: MxArray, kv: LayerKV): MxArray {
    const h = add(x, this.mixer.forward(this.mixerNorm.forward(x), kv));
    return add(h, this.mlp.forward(this.mlpNorm.forward(h)));
  }

  [Symbol.dispose](): void {
    disposeAll(this.mixer, this.mlp, this.mixerNorm, this.mlpNorm);
  }
}
