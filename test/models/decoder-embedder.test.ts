// A decoder as an embedding model (Qwen3-Embedding's shape: a qwen3 sentence-transformers directory, last-token
// pooling) against mlx-embeddings' qwen3 on the tiny seeded qwen3; rows of several lengths in one padded batch. And
// from GGUF (a pooling type on a causal architecture, as the Ollama registry serves qwen3-embedding) against llama.cpp.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { embedRows, loadEncoderModel, type LoadedEncoder } from "../../src/engine/embedding.ts";
import { liveCount } from "../../src/ffi/index.ts";
import { cosine, llamaCppEmbeddings, MLX_EMBEDDINGS, pooledSmolLm2Gguf, tinyQwen3EmbeddingDir } from "../fixtures/encoders.ts";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { oracleDep, REPO_ROOT, runOracleScript } from "../oracle.ts";

const TEXTS = ["hello", "a longer sentence for the decoder to read, with more tokens", "mid length text", "x y"];

let dir: string;
let enc: LoadedEncoder;
let oracle: { ids: number[][]; last: number[][] };
beforeAll(async () => {
  dir = await tinyQwen3EmbeddingDir();
  enc = await loadEncoderModel("tiny-qwen3-embedding", { format: "mlx", path: dir });
  oracle = runOracleScript(join(REPO_ROOT, "test/fixtures/embed_oracle.py"), { dir, texts: TEXTS }, [oracleDep(MLX_EMBEDDINGS)]);
});
afterAll(() => {
  enc?.[Symbol.dispose]();
  rmSync(dir, { recursive: true, force: true });
});

describe("a decoder as an embedding model", () => {
  test("last-token vectors of one right-padded batch match mlx-embeddings' unpadded qwen3 (cosine ≥ 0.9999)", () => {
    expect(enc.pooling).toBe("last");
    expect(enc.model.modelType).toBe("qwen3");
    expect(TEXTS.map((t) => enc.tokenizer.encode(t))).toEqual(oracle.ids);
    const vectors = embedRows(enc, oracle.ids);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(vectors[i]).toHaveLength(64);
      expect(cosine(vectors[i]!, oracle.last[i]!)).toBeGreaterThanOrEqual(0.9999);
    }
  });

  test("its per-row caches are freed with the batch", () => {
    embedRows(enc, oracle.ids.slice(0, 1));
    const before = liveCount();
    embedRows(enc, oracle.ids);
    expect(liveCount()).toBe(before);
  });
});

describe("a decoder embedding model from GGUF", () => {
  test("SmolLM2 with pooling_type last: llama.cpp's ids and vectors (Q4_1; llama.cpp rounds activations to 8 bits: cosine ≥ 0.998, 0.9991 measured)", async () => {
    const file = pooledSmolLm2Gguf();
    expect(ggufConfigBlob(file).capabilities).toEqual(["embedding"]);
    using gguf = await loadEncoderModel("smollm2-last", { format: "gguf", path: file });
    expect(gguf.pooling).toBe("last");
    const texts = ["Hello, World!", "The quick brown fox jumps over the lazy dog.", "embeddings from a decoder"];
    const ref = llamaCppEmbeddings(file, texts);
    const rows = texts.map((t) => gguf.tokenizer.encode(t));
    const ours = embedRows(gguf, rows);
    for (let i = 0; i < texts.length; i++) {
      expect(rows[i]).toEqual(ref.ids[i]!);
      expect(cosine(ours[i]!, ref.vectors[i]!)).toBeGreaterThanOrEqual(0.998);
    }
  });
});
