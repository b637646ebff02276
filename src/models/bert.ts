// BERT encoders (all-MiniLM, bge, mxbai-embed-large, snowflake-arctic-embed): post-norm blocks
// h = LN(x + attn(x)), out = LN(h + W2 gelu(W1 h)); word + position + token-type embeddings, then a LayerNorm.
// XLM-RoBERTa (bge-m3, multilingual-e5) is the same network whose positions start after the padding id (RoBERTa's
// create_position_ids_from_input_ids), so its context is max_position_embeddings - pad_token_id - 1.
// Attention is bidirectional: the only mask is the batch's padding. Names as Hugging Face's BertModel saves them
// (a BertForMaskedLM-style `bert.` prefix is stripped by the loader); the pooler is unused by sentence-transformers.
import { add, arange, expandDims, gelu, notEqual, reshape, sdpa, transpose, zeros, type MxArray } from "../ffi/index.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { LayerNorm } from "./layers/norm.ts";
import { type Config, opt, req } from "./config.ts";
import type { EncoderModel } from "./encoder.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

class BertLayer implements Disposable {
  constructor(
    private readonly q: Linear,
    private readonly k: Linear,
    private readonly v: Linear,
    private readonly o: Linear,
    private readonly attnNorm: LayerNorm,
    private readonly up: Linear,
    private readonly down: Linear,
    private readonly outNorm: LayerNorm,
    private readonly nHeads: number,
  ) {}

  static load(ws: Weights, p: string, nHeads: number, eps: number): BertLayer {
    return new BertLayer(
      Linear.load(ws, `${p}.attention.self.query`),
      Linear.load(ws, `${p}.attention.self.key`),
      Linear.load(ws, `${p}.attention.self.value`),
      Linear.load(ws, `${p}.attention.output.dense`),
      LayerNorm.load(ws, `${p}.attention.output.LayerNorm`, eps),
      Linear.load(ws, `${p}.intermediate.dense`),
      Linear.load(ws, `${p}.output.dense`),
      LayerNorm.load(ws, `${p}.output.LayerNorm`, eps),
      nHeads,
    );
  }

  /** x (B, L, H); keyMask (B, 1, 1, L) bool: true where a key is a real token */
  forward(x: MxArray, keyMask: MxArray): MxArray {
    const [B, L, H] = x.shape as [number, number, number];
    const d = H / this.nHeads;
    const heads = (t: MxArray) => transpose(reshape(t, [B, L, this.nHeads, d]), [0, 2, 1, 3]);
    const att = sdpa(heads(this.q.forward(x)), heads(this.k.forward(x)), heads(this.v.forward(x)), { scale: d ** -0.5, mask: keyMask });
    const h = this.attnNorm.forward(add(x, this.o.forward(reshape(transpose(att, [0, 2, 1, 3]), [B, L, H]))));
    return this.outNorm.forward(add(h, this.down.forward(gelu(this.up.forward(h)))));
  }

  [Symbol.dispose](): void {
    disposeAll(this.q, this.k, this.v, this.o, this.up, this.down, this.attnNorm, this.outNorm);
  }
}

export interface BertFlavor {
  modelType: string;
  /** the position of a sequence's first token: 0, or RoBERTa's pad_token_id + 1 */
  firstPosition(c: Config): number;
  layerNormEpsDefault: number;
}

export const BERT: BertFlavor = { modelType: "bert", firstPosition: () => 0, layerNormEpsDefault: 1e-12 };
export const XLM_ROBERTA: BertFlavor = { modelType: "xlm-roberta", firstPosition: (c) => opt(c, "pad_token_id", 1) + 1, layerNormEpsDefault: 1e-5 };

export class Bert implements EncoderModel {
  private constructor(
    readonly modelType: string,
    private readonly firstPosition: number,
    readonly hiddenSize: number,
    readonly contextLength: number,
    private readonly words: Embedding,
    private readonly positions: Embedding,
    private readonly tokenTypes: Embedding | null,
    private readonly embedNorm: LayerNorm,
    private readonly layers: BertLayer[],
  ) {}

  static load(c: Config, ws: Weights, flavor: BertFlavor = BERT): Bert {
    const hidden = req(c, "hidden_size");
    const nHeads = req(c, "num_attention_heads");
    const eps = opt(c, "layer_norm_eps", flavor.layerNormEpsDefault);
    const first = flavor.firstPosition(c);
    const act = c.hidden_act ?? "gelu";
    if (act !== "gelu") throw new Error(`bert: hidden_act "${String(act)}" is not supported (gelu is)`);
    if ((c.position_embedding_type ?? "absolute") !== "absolute") {
      throw new Error(`bert: position_embedding_type "${String(c.position_embedding_type)}" is not supported (absolute is)`);
    }
    // the pooler (tanh(W h_cls)) is BertModel's, not sentence-transformers': dense or quantized, it goes
    for (const unused of ["embeddings.position_ids", ...["weight", "bias", "scales", "biases"].map((s) => `pooler.dense.${s}`)]) ws.drop(unused);
    const layers: BertLayer[] = [];
    for (let i = 0; i < req(c, "num_hidden_layers"); i++) layers.push(BertLayer.load(ws, `encoder.layer.${i}`, nHeads, eps));
    return new Bert(
      flavor.modelType,
      first,
      hidden,
      req(c, "max_position_embeddings") - first,
      Embedding.load(ws, "embeddings.word_embeddings"),
      Embedding.load(ws, "embeddings.position_embeddings"),
      ws.has("embeddings.token_type_embeddings.weight") ? Embedding.load(ws, "embeddings.token_type_embeddings") : null,
      LayerNorm.load(ws, "embeddings.LayerNorm", eps),
      layers,
    );
  }

  forward(ids: MxArray, mask: MxArray): MxArray {
    const [B, L] = ids.shape as [number, number];
    if (L > this.contextLength) throw new Error(`bert: ${L} tokens exceed the ${this.contextLength} positions`);
    // Rows are right-padded, so every row's positions are first..first+L-1; every token is of type 0 (one segment).
    const positions = expandDims(arange(this.firstPosition, this.firstPosition + L, 1, "int32"), 0);
    let h = add(this.words.forward(ids), this.positions.forward(positions));
    if (this.tokenTypes) h = add(h, this.tokenTypes.forward(zeros([B, L], "int32")));
    h = this.embedNorm.forward(h);
    const keyMask = reshape(notEqual(mask, 0), [B, 1, 1, L]);
    for (const layer of this.layers) h = layer.forward(h, keyMask);
    return h;
  }

  [Symbol.dispose](): void {
    disposeAll(this.words, this.positions, this.tokenTypes, this.embedNorm, this.layers);
  }
}
