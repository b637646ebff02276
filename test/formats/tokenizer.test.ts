import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer, type TokenizerConfig, type TokenizerJson } from "../../src/formats/tokenizer/tokenizer.ts";
import { fixtureDir, fixtureJson, runOracle } from "./tokenizer-fixtures/fixtures.ts";

export const AWKWARD_TEXTS = [
  "Hello world",
  " leading space and trailing ",
  "Ünïcödé accents: café, naïve, Ångström",
  "中文测试：你好，世界！日本語のテキスト",
  "Emoji 👍🏽 and flags 🇫🇷 and family 👨‍👩‍👧",
  "def f(x):\n    return x**2  # code\n\tif x: pass",
  "CRLF\r\nNBSP\u00a0em\u2003space",
  "<|im_end|> special inline <s> </s>",
  "   multiple   spaces\n\n\nnewlines",
  "Numbers 1234567 and 3.14159",
];

describe("Tokenizer", () => {
  for (const name of ["qwen3-mini", "llama2"] as const) {
    test(`${name}: encode and decode match transformers on awkward texts`, async () => {
      const dir = await fixtureDir(name);
      const tok = await Tokenizer.fromFiles(dir);
      const oracle = await runOracle({ dir, encode: AWKWARD_TEXTS });
      AWKWARD_TEXTS.forEach((text, i) => {
        const want = oracle.encode[i];
        const ids = tok.encode(text);
        expect(ids).toEqual(want.ids);
        expect(tok.encode(text, { addSpecialTokens: false })).toEqual(want.ids_no_special);
        expect(tok.decode(ids)).toBe(want.decoded);
        expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(want.decoded_skip);
      });
      expect([...tok.eosTokenIds].sort((a, b) => a - b)).toEqual(oracle.eos_token_ids);
    });
  }

  test("llama2: BOS is added unless the prompt already starts with it", async () => {
    const tok = await Tokenizer.fromFiles(await fixtureDir("llama2"));
    expect(tok.bosTokenId).toBe(1);
    const plain = tok.encodePrompt("Hello");
    expect(plain[0]).toBe(1);
    const templated = tok.encodePrompt("<s>[INST] Hello [/INST]");
    expect(templated.filter((id) => id === 1)).toHaveLength(1);
    expect(templated[0]).toBe(1);
  });

  test("qwen3: no BOS token, so a prompt is encoded as written", async () => {
    const tok = await Tokenizer.fromFiles(await fixtureDir("qwen3-mini"));
    expect(tok.bosTokenId).toBeNull();
    expect(tok.encodePrompt("<|im_start|>user")).toEqual(tok.encode("<|im_start|>user", { addSpecialTokens: false }));
    expect(tok.encodePrompt("<|im_start|>user")[0]).toBe(tok.tokenToId("<|im_start|>")!);
  });

  test("vocabulary lookups and the thinking markers", async () => {
    const tok = await Tokenizer.fromFiles(await fixtureDir("qwen3-mini"));
    const id = tok.tokenToId("<think>")!;
    expect(tok.idToToken(id)).toBe("<think>");
    expect(tok.isSpecial(tok.tokenToId("<|im_end|>")!)).toBe(true);
    expect(tok.hasThinking).toBe(true);
    expect(tok.vocabSize).toBeGreaterThan(6000);
  });

  test("EOS set: generation_config's eos_token_id list, plus the tokenizer's eos token", async () => {
    const src = await fixtureDir("qwen3-mini");
    const dir = mkdtempSync(join(tmpdir(), "ollmlx-tok-eos-"));
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) await Bun.write(join(dir, f), Bun.file(join(src, f)));
    await Bun.write(join(dir, "config.json"), JSON.stringify({ eos_token_id: 6256 }));
    expect([...(await Tokenizer.fromFiles(dir)).eosTokenIds].sort()).toEqual([6256, 6258]);
    await Bun.write(join(dir, "generation_config.json"), JSON.stringify({ eos_token_id: [6257, 6258] }));
    expect([...(await Tokenizer.fromFiles(dir)).eosTokenIds].sort()).toEqual([6257, 6258]);
  });

  test("chat_template.jinja beats the config's template; fromObjects takes a template too", async () => {
    const json = await fixtureJson<TokenizerJson>("qwen3-mini", "tokenizer.json");
    const config = await fixtureJson<TokenizerConfig>("qwen3-mini", "tokenizer_config.json");
    expect(Tokenizer.fromObjects(json, config).chatTemplate).toBe(config.chat_template as string);
    expect(Tokenizer.fromObjects(json, config, { chatTemplate: "{{ 1 }}" }).chatTemplate).toBe("{{ 1 }}");
    const src = await fixtureDir("qwen3-mini");
    const dir = mkdtempSync(join(tmpdir(), "ollmlx-tok-tpl-"));
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) await Bun.write(join(dir, f), Bun.file(join(src, f)));
    await Bun.write(join(dir, "chat_template.jinja"), "{{ messages[0].content }}");
    expect((await Tokenizer.fromFiles(dir)).chatTemplate).toBe("{{ messages[0].content }}");
  });

  test("encoding ~16k characters (a 4k-token prompt) is fast for byte-level BPE and SentencePiece", async () => {
    const prose = AWKWARD_TEXTS.join(" ").repeat(40).slice(0, 16_000);
    for (const name of ["qwen3-mini", "llama2"] as const) {
      const t0 = performance.now();
      const tok = await Tokenizer.fromFiles(await fixtureDir(name));
      const t1 = performance.now();
      const ids = tok.encode(prose);
      const t2 = performance.now();
      console.log(`${name}: load ${(t1 - t0).toFixed(0)} ms, encode 16k chars → ${ids.length} tokens in ${(t2 - t1).toFixed(0)} ms`);
      expect(t2 - t1).toBeLessThan(2000);
    }
  });
});
