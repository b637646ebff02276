// The runner's embedding model: an encoder, its tokenizer and its pooling. Inputs become token rows (cut to the
// context, or refused), rows of similar length are padded into one masked batch, and each batch's pooled vectors
// come back as float32 (not normalized: Ollama's server normalizes /api/embed and leaves /api/embeddings raw).
import { array, eval as evalArrays, scope } from "../ffi/index.ts";
import { readSentenceTransformers } from "../formats/sentence-transformers.ts";
import { Tokenizer } from "../formats/tokenizer/tokenizer.ts";
import { pool, type EncoderModel, type Pooling } from "../models/encoder.ts";
import { loadEncoderDir, loadGgufEncoder } from "../models/load-encoder.ts";
import type { DenseHead } from "../models/dense-head.ts";
import { ggufTokenizer } from "../formats/tokenizer/from-gguf.ts";
import type { ModelSpec } from "./protocol.ts";
import { MESSAGES } from "../api/errors.ts";
import { RequestError } from "./job.ts";
import { configureCpuKernels } from "./completion.ts";

export interface LoadedEncoder extends Disposable {
  name: string;
  model: EncoderModel;
  /** sentence-transformers' Dense projections of the pooled vector (EmbeddingGemma), when the model has them */
  head: DenseHead | null;
  tokenizer: Tokenizer;
  pooling: Pooling;
  loadNs: number;
  /** the longest input in tokens */
  contextLength: number;
}

/** llama.cpp's LLAMA_POOLING_TYPE_* (GGUF `<arch>.pooling_type`): 1 mean, 2 cls, 3 last. */
const GGUF_POOLING: Record<number, Pooling> = { 1: "mean", 2: "cls", 3: "last" };

type Parts = { model: EncoderModel; head: DenseHead | null; tokenizer: Tokenizer; pooling: Pooling };

async function loadParts(spec: Pick<ModelSpec, "format" | "path">): Promise<Parts> {
  if (spec.format === "mlx") {
    const st = readSentenceTransformers(spec.path);
    const tokenizer = await Tokenizer.fromFiles(spec.path);
    const { model, head } = loadEncoderDir(spec.path, st.dense);
    return { model, head, tokenizer, pooling: st.pooling };
  }
  const { model, head, file } = loadGgufEncoder(spec.path);
  try {
    const md = file.metadata;
    const raw = md[`${String(md["general.architecture"])}.pooling_type`];
    const pooling = GGUF_POOLING[Number(raw)];
    if (!pooling) throw new Error(`GGUF pooling_type ${String(raw)} is not supported (1 mean, 2 cls and 3 last are)`);
    return { model, head, tokenizer: ggufTokenizer(md), pooling };
  } catch (e) {
    model[Symbol.dispose]();
    head?.[Symbol.dispose]();
    throw e;
  }
}

export async function loadEncoderModel(name: string, spec: Pick<ModelSpec, "format" | "path">): Promise<LoadedEncoder> {
  const t0 = performance.now();
  configureCpuKernels(); // quantized encoders and decoder embedders honour OLLMLX_CPU_KERNELS as chat models do
  const { model, head, tokenizer, pooling } = await loadParts(spec);
  return {
    name,
    model,
    head,
    tokenizer,
    pooling,
    contextLength: model.contextLength,
    loadNs: Math.round((performance.now() - t0) * 1e6),
    [Symbol.dispose]: () => {
      model[Symbol.dispose]();
      head?.[Symbol.dispose]();
    },
  };
}

/**
 * One input as token ids: text is tokenized with the model's special tokens ([CLS] … [SEP]); token ids (from
 * /v1/embeddings) are used as given. Longer than `limit`: an error with truncate false, else cut to the first
 * tokens, keeping a closing special token ([SEP]) at the end, as the model saw in training.
 */
export function inputTokens(enc: LoadedEncoder, input: string | number[], limit: number, truncate: boolean): number[] {
  let ids: number[];
  if (typeof input === "string") ids = enc.tokenizer.encode(input);
  else {
    const bad = input.find((t) => !Number.isInteger(t) || t < 0 || t >= enc.tokenizer.idLimit);
    if (bad !== undefined) throw new RequestError(`invalid input: token id ${bad} is not in the vocabulary`, 400);
    ids = input;
  }
  if (ids.length === 0) throw new RequestError("invalid input: no tokens to embed", 400);
  if (ids.length <= limit) return ids;
  if (!truncate) throw new RequestError(MESSAGES.inputTooLong, 400);
  const last = ids[ids.length - 1]!;
  return enc.tokenizer.isSpecial(last) && limit > 1 ? [...ids.slice(0, limit - 1), last] : ids.slice(0, limit);
}

/**
 * Tokens one padded batch may hold (rows × longest row), and rows: bounds the attention scores' memory. On the CPU,
 * 4096 tokens and 32 rows embedded all-MiniLM's 256-sentence run ~15% faster than 8192 and 64 (caches).
 */
const BATCH_TOKENS = 4096;
const BATCH_ROWS = 32;

/** The rows' indices grouped into batches: sorted by length, as many as fit BATCH_TOKENS and BATCH_ROWS. */
export function planBatches(rows: readonly (readonly number[])[]): number[][] {
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.length - rows[b]!.length);
  const batches: number[][] = [];
  let start = 0;
  while (start < order.length) {
    // Sorted by length, so the last row of a batch is its longest.
    let end = start + 1;
    while (end < order.length && end - start < BATCH_ROWS && (end - start + 1) * rows[order[end]!]!.length <= BATCH_TOKENS) end++;
    batches.push(order.slice(start, end));
    start = end;
  }
  return batches;
}

/** Pooled vectors for token rows, in their order, all at once (the runner steps batch by batch: serve-embed.ts). */
export function embedRows(enc: LoadedEncoder, rows: readonly number[][]): Float32Array[] {
  const out = new Array<Float32Array>(rows.length);
  for (const batch of planBatches(rows)) {
    const vectors = embedBatch(enc, batch.map((i) => rows[i]!));
    batch.forEach((i, k) => (out[i] = vectors[k]!));
  }
  return out;
}

/** One padded, masked forward pass: a pooled (and projected, with a Dense head) float32 vector per row. */
export function embedBatch(enc: LoadedEncoder, rows: readonly (readonly number[])[]): Float32Array[] {
  const B = rows.length;
  const L = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(B * L);
  const mask = new Int32Array(B * L);
  rows.forEach((r, b) => {
    ids.set(r as number[], b * L);
    mask.fill(1, b * L, b * L + r.length);
  });
  let H = 0;
  const flat = scope(() => {
    const idsArr = array(ids, [B, L], "int32");
    const maskArr = array(mask, [B, L], "int32");
    const pooled = pool(enc.model.forward(idsArr, maskArr), maskArr, enc.pooling);
    const out = enc.head ? enc.head.forward(pooled) : pooled;
    evalArrays(out);
    H = out.shape[1]!;
    return out.toFloat32();
  });
  return rows.map((_, b) => flat.slice(b * H, (b + 1) * H));
}
