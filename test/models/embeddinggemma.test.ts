// EmbeddingGemma's shape (Gemma 3 with bidirectional attention, mean pooling, two Dense projections) on a tiny
// seeded model: the Hugging Face directory against mlx-embeddings' own gemma3_text, rows of several lengths in one
// padded batch; the GGUF forms (llama.cpp's gemma-embedding, the Ollama registry's gemma3) against llama.cpp, with a
// sliding window small enough that its symmetric band decides the vectors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { embedRows, loadEncoderModel, type LoadedEncoder } from "../../src/engine/embedding.ts";
import { array, liveCount, ones, scope, slice } from "../../src/ffi/index.ts";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { cosine, llamaCppEmbeddings, MLX_EMBEDDINGS, tinyEmbeddingGemmaDir, tinyEmbeddingGemmaGguf } from "../fixtures/encoders.ts";
import { oracleDep, REPO_ROOT, runOracleScript } from "../oracle.ts";
import { join } from "node:path";

const TEXTS = ["hello", "a longer sentence for the encoder to read, with more tokens than the others", "mid length text", "x y"];
const WINDOW = 8; // llama.cpp and Hugging Face: a sliding layer sees |i - j| <= 4

let dir: string;
let enc: LoadedEncoder;
let oracle: { ids: number[][]; embeds: number[][] };
beforeAll(async () => {
  dir = await tinyEmbeddingGemmaDir();
  enc = await loadEncoderModel("tiny-embeddinggemma", { format: "mlx", path: dir });
  oracle = runOracleScript(join(REPO_ROOT, "test/fixtures/embed_oracle.py"), { dir, texts: TEXTS }, [oracleDep(MLX_EMBEDDINGS)]);
});
afterAll(() => enc?.[Symbol.dispose]());

const normalized = (v: ArrayLike<number>) => {
  const n = Math.hypot(...Array.from(v));
  return Array.from(v, (x) => x / n);
};

describe("EmbeddingGemma from a sentence-transformers directory", () => {
  test("<bos> … <eos> ids, and one padded batch's vectors (pooled, through 2_Dense and 3_Dense) match mlx-embeddings' unpadded runs (cosine ≥ 0.9999)", () => {
    expect(enc.pooling).toBe("mean");
    expect(enc.head).not.toBeNull();
    const ids = TEXTS.map((t) => enc.tokenizer.encode(t));
    expect(ids).toEqual(oracle.ids);
    expect(ids.every((r) => r[0] === 7 && r.at(-1) === 8)).toBe(true);
    const vectors = embedRows(enc, ids);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(vectors[i]).toHaveLength(48);
      expect(cosine(vectors[i]!, oracle.embeds[i]!)).toBeGreaterThanOrEqual(0.9999);
    }
  });

  test("no causal mask: the first token's state depends on the tokens after it (under a causal one it could not)", () => {
    const first = (row: number[]) =>
      scope(() => {
        const ids = array(new Int32Array(row), [1, row.length], "int32");
        const h = enc.model.forward(ids, ones([1, row.length], "int32"));
        return slice(h, [0, 0, 0], [1, 1, 48]).toFloat32();
      });
    expect(cosine(first([7, 300, 301, 302, 8]), first([7, 300, 301, 302, 8]))).toBeCloseTo(1, 6);
    expect(cosine(first([7, 300, 301, 302, 8]), first([7, 300, 301, 303, 8]))).toBeLessThan(0.9999);
  });

  test("the Dense head and the batch's arrays are freed with it", () => {
    embedRows(enc, oracle.ids.slice(0, 1));
    const before = liveCount();
    embedRows(enc, oracle.ids);
    expect(liveCount()).toBe(before);
  });
});

describe("EmbeddingGemma from GGUF", () => {
  // long enough (> WINDOW / 2 + 1 tokens) for the sliding layers' band to cut
  const rows = () => [oracle.ids[1]!, oracle.ids[0]!, [7, ...Array.from({ length: 30 }, (_, i) => 40 + ((i * 37) % 400)), 8]];

  test("llama.cpp's form (gemma-embedding, dense_2/dense_3): llama.cpp's vectors for the same ids (cosine ≥ 0.9999), and the window matters", async () => {
    const file = await tinyEmbeddingGemmaGguf("llama.cpp", WINDOW);
    expect(ggufConfigBlob(file).capabilities).toEqual(["embedding"]);
    using gguf = await loadEncoderModel("tiny-embeddinggemma-gguf", { format: "gguf", path: file });
    expect(gguf.pooling).toBe("mean");
    const ref = llamaCppEmbeddings(file, rows());
    const ours = embedRows(gguf, rows());
    for (let i = 0; i < ours.length; i++) expect(cosine(ours[i]!, ref.vectors[i]!)).toBeGreaterThanOrEqual(0.9999);
    // the same weights with the directory's 512-token window: the long rows come out otherwise
    const wide = embedRows(enc, rows());
    expect(cosine(wide[2]!, ours[2]!)).toBeLessThan(0.999);
    // the tokenizer from the GGUF's metadata gives the directory's ids
    expect(TEXTS.map((t) => gguf.tokenizer.encode(t))).toEqual(oracle.ids);
  });

  test("the Ollama registry's form (gemma3 with a pooling type, dense.0/dense.1) loads as the same model", async () => {
    const file = await tinyEmbeddingGemmaGguf("ollama", WINDOW);
    expect(ggufConfigBlob(file).capabilities).toEqual(["embedding"]);
    using ollama = await loadEncoderModel("tiny-embeddinggemma-ollama", { format: "gguf", path: file });
    using llamaCpp = await loadEncoderModel("tiny-embeddinggemma-gguf", { format: "gguf", path: await tinyEmbeddingGemmaGguf("llama.cpp", WINDOW) });
    const a = embedRows(ollama, rows());
    const b = embedRows(llamaCpp, rows());
    for (let i = 0; i < a.length; i++) expect(cosine(a[i]!, b[i]!)).toBeGreaterThanOrEqual(0.999999);
    expect(normalized(a[0]!)).toHaveLength(48);
  });
});
