// Tokenizers built from real GGUF metadata (SmolLM2: gpt2 byte-level BPE; Gemma 3: SentencePiece with scores).
// The metadata is read by llama.cpp's own gguf package (the oracle), so this tests the conversion alone.
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { applyChatTemplate } from "../../src/formats/tokenizer/chat-template.ts";
import { tokenizerFromGguf, type GgufMetadata } from "../../src/formats/tokenizer/from-gguf.ts";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { REPO_ROOT, runOracle } from "../oracle.ts";

const DUMP = `
import json, sys
from gguf import GGUFReader
r = GGUFReader(json.load(sys.stdin))
print(json.dumps({k: f.contents() for k, f in r.fields.items() if k.startswith(("tokenizer.", "general."))}))
`;

const models = {
  smollm2: join(REPO_ROOT, ".deps/models/smollm2-135m-instruct-q4_1.gguf"),
  gemma3: join(REPO_ROOT, ".deps/models/gemma-3-270m-q4_k_m.gguf"),
};
const toks: Record<string, Tokenizer> = {};

beforeAll(() => {
  for (const [name, path] of Object.entries(models)) {
    const g = tokenizerFromGguf(runOracle<GgufMetadata>(DUMP, path));
    toks[name] = Tokenizer.fromObjects(g.json, g.config, g.extras);
  }
});

const TEXTS = ["Hello world! What is the capital of France?", "  two leading spaces, 12345 digits,\ttabs\nnewlines", "émoji 🎉🇫🇷 and 中文 and ünïcödé", "def f(x):\n    return x ** 2  # code"];

describe("tokenizers from GGUF metadata", () => {
  for (const name of ["smollm2", "gemma3"]) {
    test(`${name}: decode(encode(text)) gives the text back`, () => {
      const tok = toks[name]!;
      for (const t of TEXTS) expect(tok.decode(tok.encode(t, { addSpecialTokens: false }))).toBe(t);
    });
  }

  test("smollm2: ChatML special tokens are single ids, <|im_end|> ends generation, no BOS is added", () => {
    const tok = toks.smollm2!;
    const imStart = tok.tokenToId("<|im_start|>")!;
    const imEnd = tok.tokenToId("<|im_end|>")!;
    expect(tok.encode("<|im_start|>user\nhi<|im_end|>", { addSpecialTokens: true })).toEqual([imStart, ...tok.encode("user\nhi", { addSpecialTokens: false }), imEnd]);
    expect(tok.eosTokenIds.has(imEnd)).toBe(true);
    // digits are split one by one (tokenizer.ggml.pre = smollm)
    expect(tok.encode("12345", { addSpecialTokens: false }).length).toBe(5);
    const prompt = applyChatTemplate(tok, [{ role: "user", content: "Hi" }], { addGenerationPrompt: true });
    expect(prompt.endsWith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")).toBe(true);
  });

  test("gemma3: <bos> is added, <end_of_turn> ends generation, and the Gemma chat template is used", () => {
    const tok = toks.gemma3!;
    const ids = tok.encode("Hello", { addSpecialTokens: true });
    expect(ids[0]).toBe(tok.bosTokenId!);
    expect(tok.eosTokenIds.has(tok.tokenToId("<end_of_turn>")!)).toBe(true);
    const prompt = applyChatTemplate(tok, [{ role: "user", content: "Hi" }], { addGenerationPrompt: true });
    expect(prompt).toBe("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  });
});
