// A causal LM as an embedding model (Qwen3-Embedding and other sentence-transformers decoders): the decoder's final
// hidden states, pooled as its 1_Pooling says (last token for Qwen3-Embedding). Rows are right-padded, so under the
// causal mask no real token ever sees padding: the only mask needed is the one the decoder already makes.
import { disposeCaches } from "./layers/kv-cache.ts";
import type { MxArray } from "../ffi/index.ts";
import type { EncoderModel } from "./encoder.ts";
import type { DecoderLM } from "./model.ts";

export class DecoderEmbedder implements EncoderModel {
  constructor(
    private readonly lm: DecoderLM,
    readonly hiddenSize: number,
    readonly contextLength: number,
  ) {}

  get modelType(): string {
    return this.lm.modelType;
  }

  forward(ids: MxArray, _mask: MxArray): MxArray {
    // One pass, fresh caches: the graph keeps what it reads of them once their handles are freed.
    const caches = Array.from({ length: ids.shape[0]! }, () => this.lm.makeCache());
    try {
      return this.lm.hiddenRows(ids, caches);
    } finally {
      for (const c of caches) disposeCaches(c);
    }
  }

  [Symbol.dispose](): void {
    this.lm[Symbol.dispose]();
  }
}
