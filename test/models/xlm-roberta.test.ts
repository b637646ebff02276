// XLM-RoBERTa (bge-m3's architecture: BERT with positions after the padding id, a Unigram tokenizer, CLS pooling)
// against mlx-embeddings' xlm_roberta on a tiny seeded model; texts in several scripts, in one padded batch. And the
// same model as llama.cpp's converter writes it, against llama.cpp.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { embedRows, inputTokens, loadEncoderModel, type LoadedEncoder } from "../../src/engine/embedding.ts";
import { cosine, llamaCppEmbeddings, MLX_EMBEDDINGS, tinyXlmrDir, tinyXlmrGguf } from "../fixtures/encoders.ts";
import { oracleDep, REPO_ROOT, runOracleScript } from "../oracle.ts";

const TEXTS = [
  "Paris is the capital of France.",
  "Le renard brun rapide saute.",
  "Быстрая лиса",
  "敏捷的棕色狐狸",
  "unseen words: zyxwv qqq!",
  "search query: capital cities of Europe and Madrid es la capital de España.",
];

let enc: LoadedEncoder;
let oracle: { ids: number[][]; cls: number[][] };
beforeAll(async () => {
  const dir = tinyXlmrDir();
  enc = await loadEncoderModel("tiny-xlmr", { format: "mlx", path: dir });
  oracle = runOracleScript(join(REPO_ROOT, "test/fixtures/embed_oracle.py"), { dir, texts: TEXTS }, [oracleDep(MLX_EMBEDDINGS)]);
});
afterAll(() => enc?.[Symbol.dispose]());

describe("XLM-RoBERTa", () => {
  test("Unigram ids match Hugging Face tokenizers (<s> … </s>)", () => {
    expect(TEXTS.map((t) => enc.tokenizer.encode(t))).toEqual(oracle.ids);
  });

  test("CLS vectors of one padded batch match mlx-embeddings' unpadded runs (cosine ≥ 0.9999)", () => {
    expect(enc.pooling).toBe("cls");
    const vectors = embedRows(enc, oracle.ids);
    for (let i = 0; i < TEXTS.length; i++) expect(cosine(vectors[i]!, oracle.cls[i]!)).toBeGreaterThanOrEqual(0.9999);
  });

  test("the context is max_position_embeddings less the padding offset (66 - 2), and longer inputs are cut to it", () => {
    expect(enc.contextLength).toBe(64);
    const cut = inputTokens(enc, "Paris ".repeat(100), enc.contextLength, true);
    expect(cut).toHaveLength(64);
    expect(cut.at(-1)).toBe(2); // </s> kept
    expect(embedRows(enc, [cut])[0]).toHaveLength(64);
  });

  test("as llama.cpp converts it (GGUF: bert, a t5 Unigram vocabulary, position rows shifted): HF's ids, llama.cpp's vectors", async () => {
    const file = tinyXlmrGguf();
    using gguf = await loadEncoderModel("tiny-xlmr-gguf", { format: "gguf", path: file });
    expect(gguf.pooling).toBe("cls");
    expect(gguf.contextLength).toBe(64);
    const rows = TEXTS.map((t) => gguf.tokenizer.encode(t));
    // Hugging Face's ids, <s> … </s>: the model's own tokenizer (llama.cpp's embeds a t5 vocabulary without the <s>)
    expect(rows).toEqual(oracle.ids);
    const ref = llamaCppEmbeddings(file, [...TEXTS, ...rows]);
    const ours = embedRows(gguf, rows);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(rows[i]!.slice(1, -1)).toEqual(ref.ids[i]!);
      expect(cosine(ours[i]!, ref.vectors[TEXTS.length + i]!)).toBeGreaterThanOrEqual(0.9999);
      expect(cosine(ours[i]!, oracle.cls[i]!)).toBeGreaterThanOrEqual(0.9999);
    }
  });
});
