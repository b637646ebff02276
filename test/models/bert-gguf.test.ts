// BERT from a GGUF (llama.cpp's layout, F16): the same tokens as Hugging Face's tokenizer, the same vectors as the
// safetensors model, and llama.cpp's own tokens and vectors for the file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { embedRows, loadEncoderModel, type LoadedEncoder } from "../../src/engine/embedding.ts";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { allMiniLmDir } from "../fixtures/all-minilm.ts";
import { allMiniLmGguf, cosine, llamaCppEmbeddings } from "../fixtures/encoders.ts";

const TEXTS = [
  "Hello, World!",
  "Café naïve résumé — déjà vu",
  "unaffable antidisestablishmentarianism",
  "中文 and emoji 😀 (15% off!) e-mail: someone@example.org",
  "The quick brown fox jumps over the lazy dog.",
];

let gguf: LoadedEncoder;
let st: LoadedEncoder;
let file: string;

beforeAll(async () => {
  file = allMiniLmGguf();
  gguf = await loadEncoderModel("all-minilm-gguf", { format: "gguf", path: file });
  st = await loadEncoderModel("all-minilm", { format: "mlx", path: allMiniLmDir() });
});
afterAll(() => {
  gguf?.[Symbol.dispose]();
  st?.[Symbol.dispose]();
});

describe("GGUF BERT", () => {
  test("the store lists it as an embedding model (bert.pooling_type), with its context and width", () => {
    expect(ggufConfigBlob(file)).toMatchObject({ capabilities: ["embedding"], architecture: "bert", context_length: 512, embedding_length: 384, file_type: "F16" });
    expect(gguf.pooling).toBe("mean");
  });

  test("WordPiece from the phantom-space vocabulary gives Hugging Face's ids", () => {
    for (const t of TEXTS) expect(gguf.tokenizer.encode(t)).toEqual(st.tokenizer.encode(t));
  });

  test("vectors match the safetensors model's (F16 weights: cosine ≥ 0.9999)", () => {
    const rows = TEXTS.map((t) => st.tokenizer.encode(t));
    const a = embedRows(gguf, rows);
    const b = embedRows(st, rows);
    for (let i = 0; i < TEXTS.length; i++) expect(cosine(a[i]!, b[i]!)).toBeGreaterThanOrEqual(0.9999);
  });

  test("llama.cpp tokenizes and embeds the same file alike (cosine ≥ 0.9999)", () => {
    const ref = llamaCppEmbeddings(file, TEXTS);
    const ours = embedRows(gguf, TEXTS.map((t) => gguf.tokenizer.encode(t)));
    for (let i = 0; i < TEXTS.length; i++) {
      expect(ref.ids[i]).toEqual(gguf.tokenizer.encode(TEXTS[i]!).slice(1, -1));
      expect(cosine(ours[i]!, ref.vectors[i]!)).toBeGreaterThanOrEqual(0.9999);
    }
  });
});
