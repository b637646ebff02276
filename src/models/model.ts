// What the engine sees of a model: token ids in, logits out, with one cache per layer.
import { abs, arange, concatenate, expandDims, lessEqual, logicalAnd, multiply, notEqual, reshape, scope, slice, subtract, type MxArray } from "../ffi/index.ts";
import { Embedding, Linear } from "./layers/linear.ts";
import { causalMask, type LayerCache } from "./layers/kv-cache.ts";
import type { BatchKVCache, LayerKV } from "./layers/batch-cache.ts";
import type { Norm } from "./layers/norm.ts";
import type { Weights } from "./weights.ts";
import { disposeAll } from "./dispose.ts";

export interface CausalLM extends Disposable {
  readonly modelType: string;
  readonly vocabSize: number;
  readonly numLayers: number;
  makeCache(): LayerCache[];
  /** inputs: (1, L) int32 token ids → logits (1, L, vocab). Updates the caches. */
  forward(inputs: MxArray, caches: LayerCache[]): MxArray;
  /**
   * A batch of sequences, one row each: inputs (B, L) → logits (B, L, vocab); row b updates caches[b], except in
   * the layers that have a batch cache (`batched[i]`, holding every row), which update that instead.
   * `at`: only the logits of position at[b] of each row b, (B, 1, vocab) (the head runs on nothing else).
   */
  forwardRows(inputs: MxArray, caches: readonly LayerCache[][], batched?: readonly (BatchKVCache | null)[], at?: readonly number[]): MxArray;
}

export interface Block extends Disposable {
  /** true for sliding-window layers: they get the windowed mask */
  readonly sliding: boolean;
  /** kv: each batch row's cache for this layer and its mask, or one cache for every row */
  forward(x: MxArray, kv: LayerKV): MxArray;
}

/** The token embedding as the decoder uses it: ids → vectors, and the tied head (Gemma 4 wraps it: gemma4.ts). */
export interface TokenEmbedding extends Disposable {
  forward(ids: MxArray): MxArray;
  asLinear(h: MxArray): MxArray;
}

export interface DecoderParts {
  modelType: string;
  vocabSize: number;
  embed: TokenEmbedding;
  blocks: Block[];
  norm: Norm;
  /** null: tied to the embedding */
  lmHead: Linear | null;
  /** what the architecture does to the head's output: Gemma 2's soft-cap, Granite's and Command R's logit scales */
  finalLogits?: (logits: MxArray) => MxArray;
  makeCache: () => LayerCache[];
  slidingWindow?: number;
  /** Gemma multiplies embeddings by sqrt(hidden) (Gemma 3 rounded to bf16), Granite by its embedding_multiplier */
  embedScale?: number;
  /** a block keeps arrays of the pass for later blocks (Gemma 4's KV-shared layers): no scope of its own per block */
  sharesAcrossBlocks?: boolean;
}

/** The decoder-only transformer every architecture here shares: embed → blocks → norm → head. */
/** Runs block i on h under its mask, by calling `run` (with the same or equal arguments). */
export type BlockWrap = (i: number, h: MxArray, mask: MxArray | "causal", run: (h: MxArray, mask: MxArray | "causal") => MxArray) => MxArray;

export class DecoderLM implements CausalLM {
  constructor(private readonly p: DecoderParts) {}

  get modelType(): string {
    return this.p.modelType;
  }
  get vocabSize(): number {
    return this.p.vocabSize;
  }
  get numLayers(): number {
    return this.p.blocks.length;
  }

  makeCache(): LayerCache[] {
    return this.p.makeCache();
  }

  forward(inputs: MxArray, caches: LayerCache[]): MxArray {
    return this.forwardRows(inputs, [caches]);
  }

  forwardRows(inputs: MxArray, caches: readonly LayerCache[][], batched?: readonly (BatchKVCache | null)[], at?: readonly number[]): MxArray {
    const h = this.hiddenRows(inputs, caches, batched);
    if (!at) return this.head(h);
    const [B, L, H] = h.shape as [number, number, number];
    if (at.length !== B || at.some((p) => !Number.isInteger(p) || p < 0 || p >= L)) throw new Error(`positions ${at.join(", ")} for ${B} rows of ${L}`);
    const rows = at.every((p) => p === L - 1) ? slice(h, [0, L - 1, 0], [B, L, H]) : concatenate(at.map((p, b) => slice(h, [b, p, 0], [b + 1, p + 1, H])), 0);
    return this.head(rows);
  }

  /** Token ids → the first block's input: the embeddings, scaled where the architecture scales them (Gemma). */
  private embedded(inputs: MxArray): MxArray {
    const h = this.p.embed.forward(inputs);
    return this.p.embedScale !== undefined ? multiply(h, this.p.embedScale) : h;
  }

  /** Final hidden states → logits: the lm_head, or the embeddings tied (then the architecture's final scaling). */
  private head(h: MxArray): MxArray {
    const logits = this.p.lmHead ? this.p.lmHead.forward(h) : this.p.embed.asLinear(h);
    return this.p.finalLogits ? this.p.finalLogits(logits) : logits;
  }

  /** forwardRows without the head: the final norm's hidden states (B, L, hidden), what decoder embedders pool. */
  hiddenRows(inputs: MxArray, caches: readonly LayerCache[][], batched?: readonly (BatchKVCache | null)[]): MxArray {
    const { blocks, norm } = this.p;
    if (inputs.shape[0] !== caches.length) throw new Error(`${inputs.shape[0]} batch rows but ${caches.length} caches`);
    let h = this.embedded(inputs);
    const L = inputs.shape[1]!;
    const fullIdx = blocks.findIndex((b) => !b.sliding);
    const swaIdx = blocks.findIndex((b) => b.sliding);
    // Each row's masks come from its own caches (before this step updates them); a batch cache makes its own.
    const maskOf = (layer: number, window?: number) => caches.map((c) => c[layer]!.makeMask(L, window));
    const fullMasks = fullIdx >= 0 && !batched?.[fullIdx] ? maskOf(fullIdx) : [];
    const swaMasks = swaIdx >= 0 && !batched?.[swaIdx] ? maskOf(swaIdx, this.p.slidingWindow) : [];
    const batchMask = batched?.find((c) => c)?.mask(L) ?? null;
    // Each block in a scope of its own that keeps only its output: the handles of a block's intermediates go as soon
    // as its graph is built, so that evaluation frees each buffer once it is consumed (held to the end of the pass
    // they took 1.2 MB a prompt token for SmolLM2: 325 MB at the peak of a 255-token prefill).
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      const shared = batched?.[i];
      const x = h;
      const own = this.p.sharesAcrossBlocks ? (f: () => MxArray) => f() : scope;
      if (shared) {
        h = own(() => b.forward(x, { batch: shared, mask: batchMask }));
        continue;
      }
      const masks = b.sliding ? swaMasks : fullMasks;
      h = own(() => b.forward(x, { rows: caches.map((c, row) => ({ cache: c[i]!, mask: masks[row]! })) }));
    }
    return norm.forward(h);
  }

  /**
   * Whole rows from position 0 in one pass under the causal mask (and the window in sliding layers), nothing
   * cached: logits (B, L, vocab). What training differentiates (train/lora.ts): no cache writes in the graph.
   * `wrap` runs each block i (train/lora.ts: under gradient checkpointing), given its input and mask.
   */
  forwardCausal(inputs: MxArray, wrap?: BlockWrap): MxArray {
    const { blocks, norm, slidingWindow } = this.p;
    const L = inputs.shape[1]!;
    let h = this.embedded(inputs);
    const sliding = slidingWindow !== undefined && L > slidingWindow ? causalMask(L, 0, slidingWindow) : "causal";
    blocks.forEach((b, i) => {
      const mask = b.sliding ? sliding : "causal";
      h = wrap ? wrap(i, h, mask, (x, m) => b.forward(x, { encode: m })) : b.forward(h, { encode: mask });
    });
    return this.head(norm.forward(h));
  }

  /**
   * Whole right-padded rows in one pass, nothing cached, no causal mask: each token attends to every real token of
   * its row (padMask (B, L), 1 = token), and in sliding layers only to those within half the window either side,
   * |i - j| <= window/2, as llama.cpp's symmetric window and Hugging Face's bidirectional Gemma 3 both draw it.
   * The final norm's hidden states (B, L, hidden): what a bidirectional embedder (EmbeddingGemma) pools.
   */
  encodeRows(inputs: MxArray, padMask: MxArray): MxArray {
    const { blocks, norm, slidingWindow } = this.p;
    const [B, L] = inputs.shape as [number, number];
    let h = this.embedded(inputs);
    const full = reshape(notEqual(padMask, 0), [B, 1, 1, L]);
    let sliding = full;
    if (slidingWindow !== undefined && L > Math.floor(slidingWindow / 2) + 1) {
      const pos = arange(0, L, 1, "int32");
      const band = lessEqual(abs(subtract(expandDims(pos, 1), expandDims(pos, 0))), Math.floor(slidingWindow / 2));
      sliding = logicalAnd(full, reshape(band, [1, 1, L, L]));
    }
    for (const b of blocks) h = b.forward(h, { encode: b.sliding ? sliding : full });
    return norm.forward(h);
  }

  [Symbol.dispose](): void {
    disposeAll(this.p.embed, this.p.blocks, this.p.norm, this.p.lmHead);
  }
}

/** Tied when the config says so (or `tieDefault` when it is silent); a tied model's lm_head is dropped. */
export function loadHead(ws: Weights, config: Record<string, unknown>, tieDefault: boolean): Linear | null {
  const tie = typeof config.tie_word_embeddings === "boolean" ? config.tie_word_embeddings : tieDefault;
  if (tie) {
    ws.drop("lm_head.weight");
    ws.drop("lm_head.scales");
    ws.drop("lm_head.biases");
    return null;
  }
  return Linear.load(ws, "lm_head");
}

/** Rounds to the nearest bfloat16 (ties to even), as mx.array(v, mx.bfloat16) does. */
export function roundToBf16(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer);
  const x = u[0]!;
  u[0] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) << 16;
  return f[0]!;
}
