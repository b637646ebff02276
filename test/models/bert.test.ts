// BERT (all-MiniLM-L6-v2, real weights) against mlx-embeddings' BERT, and its WordPiece ids against Hugging Face's
// `tokenizers`. Our texts run as one padded, masked batch; the oracle runs each text alone, unpadded.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { liveCount } from "../../src/ffi/index.ts";
import { embedRows, inputTokens, loadEncoderModel, type LoadedEncoder } from "../../src/engine/embedding.ts";
import { allMiniLmDir } from "../fixtures/all-minilm.ts";
import { oracleDep, REPO_ROOT, runOracleScript } from "../oracle.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cosine } from "../fixtures/encoders.ts";

const TEXTS = [
  "Hello, World!",
  "Café naïve résumé — déjà vu at the Ærø façade.",
  "unaffable antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
  "中文 and 日本語 mixed with English; emoji 😀 and symbols ©®™ ±½",
  "Tabs\tand\nnewlines\r\n   and   runs of spaces",
  "[CLS] literal special tokens [SEP] in text [MASK]",
  "x",
  "",
  "The quick brown fox jumps over the lazy dog. ".repeat(4),
  "e-mail: someone@example.org, URL https://example.com/a?b=c&d=e#f, price $3.50 (15% off!)",
];

interface Oracle {
  ids: number[][];
  raw: number[][];
  normalized: number[][];
  cls: number[][];
}

let enc: LoadedEncoder;
let oracle: Oracle;

beforeAll(async () => {
  const dir = allMiniLmDir();
  enc = await loadEncoderModel("all-minilm", { format: "mlx", path: dir });
  oracle = runOracleScript<Oracle>(join(REPO_ROOT, "test/fixtures/embed_oracle.py"), { dir, texts: TEXTS }, [oracleDep("mlx-embeddings-0.1.0")]);
});
afterAll(() => enc?.[Symbol.dispose]());

describe("all-MiniLM-L6-v2", () => {
  test("WordPiece ids match Hugging Face tokenizers (accents, punctuation, CJK, unknown, ##pieces)", () => {
    const ours = TEXTS.map((t) => enc.tokenizer.encode(t));
    expect(ours).toEqual(oracle.ids);
    // the texts do exercise the cases named: [UNK] for the emoji, ## continuation pieces, [CLS] … [SEP]
    expect(ours.flat()).toContain(enc.tokenizer.tokenToId("[UNK]")!);
    expect(ours.flat().some((id) => enc.tokenizer.idToToken(id)!.startsWith("##"))).toBe(true);
    expect(ours.every((ids) => ids[0] === 101 && ids.at(-1) === 102)).toBe(true);
  });

  test("mean-pooled vectors of one padded batch match the oracle's unpadded runs (cosine ≥ 0.9999, max |Δ| < 1e-4)", () => {
    const vectors = embedRows(enc, oracle.ids);
    expect(vectors).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(vectors[i]!).toHaveLength(384);
      expect(cosine(vectors[i]!, oracle.raw[i]!)).toBeGreaterThanOrEqual(0.9999);
      const maxDiff = Math.max(...oracle.raw[i]!.map((v, k) => Math.abs(v - vectors[i]![k]!)));
      expect(maxDiff).toBeLessThan(1e-4);
    }
  });

  test("CLS pooling takes each row's first state (bge-style models)", () => {
    const vectors = embedRows({ ...enc, pooling: "cls" }, oracle.ids);
    for (let i = 0; i < TEXTS.length; i++) expect(cosine(vectors[i]!, oracle.cls[i]!)).toBeGreaterThanOrEqual(0.9999);
  });

  test("last-token pooling takes each row's last real token, not padding", () => {
    const rows = [oracle.ids[0]!, oracle.ids[2]!];
    const [a, b] = embedRows({ ...enc, pooling: "last" }, rows);
    const mean = embedRows(enc, rows);
    expect(cosine(a!, mean[0]!)).toBeLessThan(0.9999);
    // the same row alone (no padding) gives the same vector
    expect(cosine(a!, embedRows({ ...enc, pooling: "last" }, [rows[0]!])[0]!)).toBeGreaterThan(0.99999);
    expect(b).toHaveLength(384);
  });

  test("a 4-bit model (mlx-embeddings' convert -q layout) matches mlx-embeddings running the same quantized weights", async () => {
    const out = mkdtempSync(join(tmpdir(), "ollmlx-bert-q4-"));
    try {
      const texts = TEXTS.slice(0, 4);
      const q = runOracleScript<Oracle>(join(REPO_ROOT, "test/fixtures/embed_oracle.py"), { dir: allMiniLmDir(), texts, quantize: { group_size: 64, bits: 4 }, save: out }, [
        oracleDep("mlx-embeddings-0.1.0"),
      ]);
      using enc4 = await loadEncoderModel("all-minilm-q4", { format: "mlx", path: out });
      const vectors = embedRows(enc4, q.ids);
      for (let i = 0; i < texts.length; i++) {
        expect(cosine(vectors[i]!, q.raw[i]!)).toBeGreaterThanOrEqual(0.9999);
        // and point where the float model's do (4 bits cost a 22M-parameter model a lot: 0.93 here; garbage is < 0.5)
        expect(cosine(vectors[i]!, oracle.raw[i]!)).toBeGreaterThan(0.85);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("paraphrases are closer than unrelated sentences", () => {
    const [a, b, c] = embedRows(enc, ["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell sharply today."].map((t) => enc.tokenizer.encode(t)));
    expect(cosine(a!, b!)).toBeGreaterThan(cosine(a!, c!) + 0.3);
  });

  test("a batch frees every array it makes", () => {
    embedRows(enc, [enc.tokenizer.encode("warm up")]);
    const before = liveCount();
    embedRows(enc, oracle.ids.slice(0, 4));
    expect(liveCount()).toBe(before);
  });

  test("an input over the context is cut to it, keeping [SEP]; with truncate false it is Ollama's 400", () => {
    const long = "word ".repeat(600);
    const cut = inputTokens(enc, long, 512, true);
    expect(cut).toHaveLength(512);
    expect(cut[0]).toBe(101);
    expect(cut.at(-1)).toBe(102);
    expect(() => inputTokens(enc, long, 512, false)).toThrow("the input length exceeds the context length");
    expect(inputTokens(enc, [101, 7592, 102], 512, false)).toEqual([101, 7592, 102]);
    expect(() => inputTokens(enc, [101, 999999], 512, true)).toThrow("not in the vocabulary");
  });
});
