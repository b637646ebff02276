// nomic-bert (nomic-embed-text): BERT's post-norm encoder with rotary positions instead of learned ones, one fused
// Wqkv projection, and a SwiGLU MLP fc2(fc11(h) · silu(fc12(h))). Names as nomic's checkpoints save them (and as
// llama.cpp maps them: fc11 is the up projection, fc12 the gate). Bidirectional: the only mask is the padding.
import { add, notEqual, reshape, sdpa, split, swiglu, transpose, zeros, type MxArray } from "../ffi/index.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { LayerNorm } from "./layers/norm.ts";
import { initializeRope, type Rope } from "./layers/rope.ts";
import { type Config, opt, req } from "./config.ts";
import type { EncoderModel } from "./encoder.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

class NomicLayer implements Disposable {
  constructor(
    private readonly qkv: Linear,
    private readonly out: Linear,
    private readonly norm1: LayerNorm,
    private readonly up: Linear,
    private readonly gate: Linear,
    private readonly down: Linear,
    private readonly norm2: LayerNorm,
    private readonly nHeads: number,
  ) {}

  static load(ws: Weights, p: string, nHeads: number, eps: number): NomicLayer {
    return new NomicLayer(
      Linear.load(ws, `${p}.attn.Wqkv`),
      Linear.load(ws, `${p}.attn.out_proj`),
      LayerNorm.load(ws, `${p}.norm1`, eps),
      Linear.load(ws, `${p}.mlp.fc11`),
      Linear.load(ws, `${p}.mlp.fc12`),
      Linear.load(ws, `${p}.mlp.fc2`),
      LayerNorm.load(ws, `${p}.norm2`, eps),
      nHeads,
    );
  }

  /** x (B, L, H); keyMask (B, 1, 1, L) bool; every row starts at position 0 (right padding) */
  forward(x: MxArray, keyMask: MxArray, rope: Rope): MxArray {
    const [B, L, H] = x.shape as [number, number, number];
    const d = H / this.nHeads;
    const heads = (t: MxArray) => transpose(reshape(t, [B, L, this.nHeads, d]), [0, 2, 1, 3]);
    const [q, k, v] = split(this.qkv.forward(x), 3, -1).map(heads) as [MxArray, MxArray, MxArray];
    const att = sdpa(rope.apply(q, 0), rope.apply(k, 0), v, { scale: d ** -0.5, mask: keyMask });
    const h = this.norm1.forward(add(x, this.out.forward(reshape(transpose(att, [0, 2, 1, 3]), [B, L, H]))));
    return this.norm2.forward(add(h, this.down.forward(swiglu(this.gate.forward(h), this.up.forward(h)))));
  }

  [Symbol.dispose](): void {
    disposeAll(this.qkv, this.out, this.up, this.gate, this.down, this.norm1, this.norm2);
  }
}

export class NomicBert implements EncoderModel {
  readonly modelType = "nomic_bert";

  private constructor(
    readonly hiddenSize: number,
    readonly contextLength: number,
    private readonly words: Embedding,
    private readonly tokenTypes: Embedding | null,
    private readonly embedNorm: LayerNorm,
    private readonly rope: Rope,
    private readonly layers: NomicLayer[],
  ) {}

  static load(c: Config, ws: Weights): NomicBert {
    const hidden = req(c, "n_embd");
    const nHeads = req(c, "n_head");
    const eps = opt(c, "layer_norm_epsilon", 1e-12);
    if (c.prenorm === true) throw new Error("nomic_bert: prenorm models are not supported (post-norm ones are)");
    const act = c.activation_function ?? "swiglu";
    if (act !== "swiglu") throw new Error(`nomic_bert: activation_function "${String(act)}" is not supported (swiglu is)`);
    const headDim = hidden / nHeads;
    // NEOX-style rotation (halves), on rotary_emb_fraction of each head
    const rope = initializeRope(Math.floor(headDim * opt(c, "rotary_emb_fraction", 1)), opt(c, "rotary_emb_base", 10000), false, null, undefined);
    const layers: NomicLayer[] = [];
    for (let i = 0; i < req(c, "n_layer"); i++) layers.push(NomicLayer.load(ws, `encoder.layers.${i}`, nHeads, eps));
    return new NomicBert(
      hidden,
      opt(c, "max_trained_positions", opt(c, "n_positions", 2048)),
      Embedding.load(ws, "embeddings.word_embeddings"),
      ws.has("embeddings.token_type_embeddings.weight") ? Embedding.load(ws, "embeddings.token_type_embeddings") : null,
      LayerNorm.load(ws, "emb_ln", eps),
      rope,
      layers,
    );
  }

  forward(ids: MxArray, mask: MxArray): MxArray {
    const [B, L] = ids.shape as [number, number];
    let h = this.words.forward(ids);
    if (this.tokenTypes) h = add(h, this.tokenTypes.forward(zeros([B, L], "int32")));
    h = this.embedNorm.forward(h);
    const keyMask = reshape(notEqual(mask, 0), [B, 1, 1, L]);
    for (const layer of this.layers) h = layer.forward(h, keyMask, this.rope);
    return h;
  }

  [Symbol.dispose](): void {
    disposeAll(this.words, this.tokenTypes, this.embedNorm, this.rope, this.layers);
  }
}
