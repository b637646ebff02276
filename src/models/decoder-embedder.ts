// A decoder's transformer as an embedding model: its final hidden states, pooled as its 1_Pooling says. Causal
// (Qwen3-Embedding, last-token pooling): rows are right-padded, so under the causal mask no real token ever sees
// padding and the only mask needed is the one the decoder already makes. Bidirectional (EmbeddingGemma: Gemma 3 with
// use_bidirectional_attention, mean pooling): one pass with no causal mask, padding masked out (DecoderLM.encodeRows).
import { disposeCaches } from "./layers/kv-cache.ts";
import type { MxArray } from "../ffi/index.ts";
import type { EncoderModel } from "./encoder.ts";
import type { DecoderLM } from "./model.ts";
import { disposeAll } from "./dispose.ts";

export class DecoderEmbedder implements EncoderModel {
  constructor(
    private readonly lm: DecoderLM,
    readonly hiddenSize: number,
    readonly contextLength: number,
    private readonly bidirectional = false,
  ) {}

  get modelType(): string {
    return this.lm.modelType;
  }

  forward(ids: MxArray, mask: MxArray): MxArray {
    if (this.bidirectional) return this.lm.encodeRows(ids, mask);
    // One pass, fresh caches: the graph keeps what it reads of them once their handles are freed.
    const caches = Array.from({ length: ids.shape[0]! }, () => this.lm.makeCache());
    try {
      return this.lm.hiddenRows(ids, caches);
    } finally {
      for (const c of caches) disposeCaches(c);
    }
  }

  [Symbol.dispose](): void {
    disposeAll(this.lm);
  }
}
