// nomic-bert (rotary positions, fused Wqkv, SwiGLU) from a GGUF against llama.cpp's own nomic-bert on the same file:
// a tiny model with random weights, texts of many lengths in one padded batch; and from a directory, against the GGUF.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { embedRows, loadEncoderModel, type LoadedEncoder } from "../../src/engine/embedding.ts";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { cosine, llamaCppEmbeddings, tinyNomicDir, tinyNomicGguf } from "../fixtures/encoders.ts";

const TEXTS = [
  "Hello, World!",
  "search_query: what is the capital of France?",
  "search_document: Paris is the capital and most populous city of France, on the Seine. ".repeat(3),
  "x",
  "Café naïve résumé — déjà vu, 中文, 😀",
];

let enc: LoadedEncoder;
let file: string;
beforeAll(async () => {
  file = tinyNomicGguf();
  enc = await loadEncoderModel("tiny-nomic", { format: "gguf", path: file });
});
afterAll(() => enc?.[Symbol.dispose]());

describe("nomic-bert", () => {
  test("the store lists it as an embedding model; its context is the GGUF's", () => {
    expect(ggufConfigBlob(file)).toMatchObject({ capabilities: ["embedding"], architecture: "nomic-bert", context_length: 2048 });
    expect(enc.model.modelType).toBe("nomic_bert");
    expect(enc.contextLength).toBe(2048);
  });

  test("one padded batch matches llama.cpp's vectors for each text (cosine ≥ 0.9999) and its token ids", () => {
    const ref = llamaCppEmbeddings(file, TEXTS);
    const rows = TEXTS.map((t) => enc.tokenizer.encode(t));
    const ours = embedRows(enc, rows);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(rows[i]!.slice(1, -1)).toEqual(ref.ids[i]!);
      expect(cosine(ours[i]!, ref.vectors[i]!)).toBeGreaterThanOrEqual(0.9999);
    }
  });

  test("the same model from a sentence-transformers directory (nomic's names and config.json) embeds alike", async () => {
    const dir = await loadEncoderModel("tiny-nomic-dir", { format: "mlx", path: tinyNomicDir() });
    try {
      expect(dir.contextLength).toBe(2048);
      const rows = TEXTS.map((t) => enc.tokenizer.encode(t));
      const [a, b] = [embedRows(dir, rows), embedRows(enc, rows)];
      for (let i = 0; i < TEXTS.length; i++) expect(cosine(a[i]!, b[i]!)).toBeGreaterThan(0.999999);
    } finally {
      dir[Symbol.dispose]();
    }
  });
});
