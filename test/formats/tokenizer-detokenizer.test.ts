import { describe, expect, test } from "bun:test";
import { createDetokenizer, detokenizerKind } from "../../src/formats/tokenizer/detokenizer.ts";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { fixtureDir, runOracle } from "./tokenizer-fixtures/fixtures.ts";

// No leading space: both detokenizers drop the first one, as mlx-lm's do, while decode() keeps it.
const TEXTS = [
  "Plain ASCII text, with punctuation!",
  "中文测试：你好，世界！日本語のテキストと한국어",
  "Emoji 👍🏽 flags 🇫🇷 family 👨‍👩‍👧 done",
  "Accents: café, naïve, Ångström, Œuvre",
  "def f(x):\n    return {'k': x ** 2}  # code\n\n\tpass",
  "Spaces  between   words and a trailing space ",
];

function stream(tok: Tokenizer, ids: number[]): string[] {
  const d = createDetokenizer(tok);
  return [...ids.map((id) => d.add(id)), d.finalize()];
}

describe("streaming detokenizer", () => {
  for (const [name, kind, mlxClass] of [
    ["qwen3-mini", "bpe", "BPEStreamingDetokenizer"],
    ["llama2", "spm", "SPMStreamingDetokenizer"],
  ] as const) {
    test(`${name} (${kind}): segments join to decode(), carry no U+FFFD, and match mlx-lm's`, async () => {
      const dir = await fixtureDir(name);
      const tok = await Tokenizer.fromFiles(dir);
      expect(detokenizerKind(tok.json.decoder)).toBe(kind);
      const idLists = TEXTS.map((t) => tok.encode(t, { addSpecialTokens: false }));
      const oracle = await runOracle({ dir, detokenize: idLists });
      expect(oracle.detokenizer).toBe(mlxClass);
      idLists.forEach((ids, i) => {
        const segments = stream(tok, ids);
        expect(segments.join("")).toBe(oracle.detokenize[i].decoded);
        for (const s of segments) expect(s).not.toContain("\ufffd");
        expect(segments).toEqual(oracle.detokenize[i].segments);
      });
    });
  }

  test("a CJK character split into byte-fallback tokens comes out whole, in one segment", async () => {
    const tok = await Tokenizer.fromFiles(await fixtureDir("qwen3-mini"));
    const ids = tok.encode("龘", { addSpecialTokens: false });
    expect(ids.length).toBeGreaterThan(1);
    const segments = stream(tok, ids);
    expect(segments.filter((s) => s !== "")).toEqual(["龘"]);
  });

  test("SPM: an emoji from <0xNN> byte tokens comes out whole", async () => {
    const tok = await Tokenizer.fromFiles(await fixtureDir("llama2"));
    const ids = tok.encode("🦙", { addSpecialTokens: false });
    expect(ids.some((id) => tok.idToToken(id)!.startsWith("<0x"))).toBe(true);
    expect(stream(tok, ids).filter((s) => s !== "")).toEqual(["🦙"]);
  });

  test("the first leading space is dropped, later ones kept", async () => {
    const tok = await Tokenizer.fromFiles(await fixtureDir("llama2"));
    const ids = tok.encode("Hi there", { addSpecialTokens: false });
    expect(stream(tok, ids).join("")).toBe("Hi there");
  });

  test("naive fallback: unknown decoders re-decode the line and still join to decode()", async () => {
    const tok = await Tokenizer.fromFiles(await fixtureDir("llama2"));
    const d = createDetokenizer(tok, "naive");
    const ids = tok.encode(TEXTS[1] + "\n" + TEXTS[2], { addSpecialTokens: false });
    const segments = [...ids.map((id) => d.add(id)), d.finalize()];
    expect(segments.join("")).toBe(tok.decode(ids));
    for (const s of segments) expect(s).not.toContain("\ufffd");
  });
});
