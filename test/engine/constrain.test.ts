// The constrained-decoding matcher and masks, on text and on real tokenizers' multi-character tokens.
import { describe, expect, test } from "bun:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { compileConstraint, ConstraintState, createConstraint } from "../../src/engine/constrain/constraint.ts";
import { requestConstraint, type ThinkingGate } from "../../src/engine/constrain/thinking-gate.ts";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { tinyQwen3Dir } from "../routes/fixtures/tiny-model.ts";
import { ConstraintError, SchemaProgram } from "../../src/engine/constrain/schema.ts";
import type { OutputConstraint } from "../../src/engine/protocol.ts";
import { GEMMA3, ggufTokenizer, PERSON, randomWalk, SMOLLM2 } from "./constrain-fixtures.ts";

const tok = ggufTokenizer(SMOLLM2);
const ajv = new Ajv2020({ strict: false });


const schema = (s: Record<string, unknown>): OutputConstraint => ({ kind: "json_schema", schema: s });

/** Feeds text through a fresh constraint: whether it stays a valid prefix, and whether it is complete. */
function feed(spec: OutputConstraint, text: string): { prefix: boolean; complete: boolean } {
  const state = createConstraint(tok, spec);
  const prefix = state.advanceText(text);
  return { prefix, complete: prefix && state.finished };
}

/** Feeds text token by token as the tokenizer splits it: every token must be allowed by the mask before it. */
function feedTokens(state: ConstraintState, text: string): void {
  for (const id of tok.encode(text, { addSpecialTokens: false })) {
    expect({ token: tok.decode([id]), allowed: state.allowed()[id] === 1 }).toEqual({ token: tok.decode([id]), allowed: true });
    state.advance(id);
  }
}

describe("constraint matcher on text", () => {
  test("format json accepts any JSON object and is complete at its closing brace", () => {
    const doc = '{"a": [1, -2.5e+3, 0, {"b": null}], "c": "x\\n\\u00e9\\"", "d": true, "e": {}}';
    expect(feed({ kind: "json" }, doc)).toEqual({ prefix: true, complete: true });
    expect(feed({ kind: "json" }, doc.slice(0, -1))).toEqual({ prefix: true, complete: false });
  });

  test("format json rejects non-objects and malformed JSON", () => {
    for (const bad of ["[1]", '"s"', "42", '{"a": 01}', '{"a": 1,}', "{'a': 1}", '{"a": tru}', '{"a" 1}', '{"a": "\u0001"}', "{} x"]) {
      expect({ bad, ...feed({ kind: "json" }, bad) }).toMatchObject({ bad, complete: false });
    }
    expect(feed({ kind: "json" }, '{"a": 1,}').prefix).toBe(false);
  });

  test("whitespace between tokens is limited to one byte per gap", () => {
    expect(feed({ kind: "json" }, '{ "a" : 1 , "b": [ 2 ] }').complete).toBe(true);
    expect(feed({ kind: "json" }, '{\n"a":1}').complete).toBe(true);
    expect(feed({ kind: "json" }, '{\n  "a":1}').prefix).toBe(false);
  });

  test("a schema enforces required keys, declared keys only, enums, types and array bounds", () => {
    const ok = '{"name": "Ann", "age": 31, "status": "active", "address": {"city": "Oslo", "zip": null}, "tags": ["x"]}';
    expect(feed(schema(PERSON), ok)).toEqual({ prefix: true, complete: true });
    // keys in any order, optional ones included
    const reordered = '{"tags": ["a", "b", "c"], "verified": false, "score": 1.5, "address": {"zip": "0150", "city": "Oslo"}, "status": "banned", "age": -4, "name": ""}';
    expect(feed(schema(PERSON), reordered).complete).toBe(true);
    const bad = [
      '{"name": "Ann", "age": 31}', // required keys missing at "}"
      '{"nickname": "A"', // undeclared key
      '{"status": "unknown"', // not in the enum
      '{"age": 3.5', // integer
      '{"age": "3"', // type
      '{"tags": []', // minItems 1
      '{"tags": ["a", "b", "c", "d"]', // maxItems 3
      '{"name": "abcdefghijklm"', // maxLength 12
      '{"address": {"city": ""', // minLength 1
      '{"name": "a", "name": "b"', // duplicate key
    ];
    for (const text of bad) expect({ text, ...feed(schema(PERSON), text) }).toEqual({ text, prefix: false, complete: false });
  });

  test("strings take whole UTF-8 characters only: no overlong forms, surrogates, or stray continuation bytes", () => {
    const c = compileConstraint(tok, schema({ type: "string" }));
    const accepts = (...bytes: number[]) => c.advance(c.start, Uint8Array.of(0x22, ...bytes, 0x22)).length > 0;
    expect(accepts(0xc3, 0xa9)).toBe(true); // é
    expect(accepts(0xe2, 0x82, 0xac)).toBe(true); // €
    expect(accepts(0xf0, 0x9f, 0x91, 0x8d)).toBe(true); // 👍
    expect(accepts(0xe0, 0x80, 0x80)).toBe(false); // overlong
    expect(accepts(0xed, 0xa0, 0x80)).toBe(false); // UTF-16 surrogate
    expect(accepts(0xf4, 0x90, 0x80, 0x80)).toBe(false); // past U+10FFFF
    expect(accepts(0xc3)).toBe(false); // cut short by the closing quote
    expect(accepts(0xa9)).toBe(false); // continuation without a lead
  });

  test("anyOf, const, nested arrays and local $refs", () => {
    const tree = {
      $defs: { node: { type: "object", properties: { v: { const: 1 }, kids: { type: "array", items: { $ref: "#/$defs/node" } } }, required: ["v"] } },
      anyOf: [{ $ref: "#/$defs/node" }, { type: "array", items: { type: "integer" } }],
    };
    expect(feed(schema(tree), '{"v": 1, "kids": [{"v": 1}, {"v": 1, "kids": []}]}').complete).toBe(true);
    expect(feed(schema(tree), "[1, 2, 3]").complete).toBe(true);
    expect(feed(schema(tree), '{"v": 2').prefix).toBe(false);
    expect(feed(schema(tree), '{"kids": [{"v": 1}]}').prefix).toBe(false);
  });

  test("a forced tool call is the literal prefix, schema-valid JSON, the literal suffix, then nothing", () => {
    const spec: OutputConstraint = {
      kind: "tool_call",
      prefix: "<tool_call>\n",
      schema: { type: "object", properties: { name: { const: "get_weather" }, arguments: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }, required: ["name", "arguments"] },
      suffix: "\n</tool_call>",
    };
    const call = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
    expect(feed(spec, call)).toEqual({ prefix: true, complete: true });
    expect(feed(spec, call + " ").prefix).toBe(false);
    expect(feed(spec, '{"name"').prefix).toBe(false);
    expect(feed(spec, '<tool_call>\n{"name": "other"').prefix).toBe(false);
  });

  test("schemas the engine cannot enforce are refused with a reason", () => {
    const refuse = (s: Record<string, unknown>) => () => new SchemaProgram(s).compile(s);
    expect(refuse({ not: { type: "string" } })).toThrow(ConstraintError);
    expect(refuse({ $ref: "https://example.com/s.json" })).toThrow(/\$ref/);
    expect(refuse({ type: "object", properties: { a: {} }, required: ["b"] })).toThrow(/required property "b"/);
    expect(refuse({ enum: [] })).toThrow(/empty enum/);
  });
});

describe("constraint masks over a real vocabulary", () => {
  test("a document tokenized by SmolLM2's byte-level BPE is allowed token by token, then generation is finished", () => {
    const state = createConstraint(tok, schema(PERSON));
    feedTokens(state, '{"name": "Zoë Ça", "age": 7, "status": "inactive", "address": {"city": "Tromsø", "zip": "9008"}, "tags": ["a b", "c"]}');
    expect(state.finished).toBe(true);
  });

  test("special tokens are never allowed; EOS only where the output is complete", () => {
    const eos = [...tok.eosTokenIds][0]!;
    const imStart = tok.tokenToId("<|im_start|>")!;
    const int = createConstraint(tok, schema({ type: "integer" }));
    expect(int.allowed()[eos]).toBe(0);
    int.advanceText("-");
    expect(int.allowed()[eos]).toBe(0);
    int.advanceText("12");
    expect(int.allowed()[eos]).toBe(1);
    expect(int.finished).toBe(false);
    const obj = createConstraint(tok, { kind: "json" });
    obj.advanceText('{"a": "');
    expect(obj.allowed()[imStart]).toBe(0);
    expect(obj.allowed()[eos]).toBe(0);
  });

  test("random walks over allowed SmolLM2 tokens always end in JSON that validates against the schema", () => {
    const validate = ajv.compile(PERSON);
    for (let seed = 1; seed <= 20; seed++) {
      const state = createConstraint(tok, schema(PERSON));
      const { text, ended } = randomWalk(tok, state, seed);
      expect({ seed, ended }).toEqual({ seed, ended: true });
      const value: unknown = JSON.parse(text);
      expect({ seed, text, valid: validate(value) }).toEqual({ seed, text, valid: true });
    }
  });

  test("under a budget, random walks over SmolLM2's and Gemma 3's tokens close in time: 50 budgets from 20 to 200 tokens parse and validate whenever the shortest value fits", () => {
    const compact = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" }, tags: { type: "array", items: { type: "string" } } }, required: ["name", "age"] };
    const gemma = ggufTokenizer(GEMMA3);
    // the shortest values, and the end-of-sequence token: budgets at or above these are guaranteed to close
    const shortest = { person: '{"name":"","age":0,"status":"active","address":{"city":"a","zip":""},"tags":[""]}', compact: '{"name":"","age":0}' };
    for (const t of [tok, gemma]) {
      expect(createConstraint(t, schema(PERSON)).need).toBe(shortest.person.length + 1);
      expect(createConstraint(t, schema(compact)).need).toBe(shortest.compact.length + 1);
    }
    let steered = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const budget = 20 + ((seed * 37) % 181);
      const t = seed % 4 < 2 ? tok : gemma;
      const spec = seed % 2 ? compact : PERSON;
      const validate = ajv.compile(spec);
      const state = createConstraint(t, schema(spec));
      const need = state.need;
      const { text, ended, steps } = randomWalk(t, state, seed, undefined, budget);
      expect(steps).toBeLessThanOrEqual(budget);
      if (budget >= need || ended) {
        expect({ seed, budget, text, ended, valid: ended && validate(JSON.parse(text)) }).toEqual({ seed, budget, text, ended: true, valid: true });
      }
      if (budget < need) steered++;
    }
    expect(steered).toBeGreaterThan(0); // PERSON under 82 tokens: steered to its shortest value, cut ("length") if that does not fit
  });

  test("the mask cache stays within 32 MiB on Gemma 3's 262k vocabulary, budgets' needAfter included", () => {
    const gemma = ggufTokenizer(GEMMA3);
    const compiled = compileConstraint(gemma, schema(PERSON));
    for (let seed = 1; seed <= 6; seed++) randomWalk(gemma, new ConstraintState(compiled), 100 + seed, undefined, 90);
    const stats = compiled.cacheStats();
    expect(stats.counted).toBe(stats.bytes);
    expect(stats.bytes).toBeLessThanOrEqual(32 << 20);
    expect(stats.states).toBeGreaterThan(10);
  });

  test("a budget too small for any value steers to the shortest one; without a budget nothing changes", () => {
    const state = createConstraint(tok, schema({ type: "object", properties: { a: { type: "string" } }, required: ["a"] }));
    expect(state.need).toBe(9); // {"a":""} and the end
    const { text, ended } = randomWalk(tok, state, 7, undefined, 4);
    // SmolLM2 writes {"a":""} in four tokens or fewer: greedy closing found them
    expect({ text, ended }).toEqual({ text: '{"a":""}', ended: true });
    const free = createConstraint(tok, schema({ type: "object", properties: { a: { type: "string" } }, required: ["a"] }));
    expect(free.allowedWithin(undefined)).toBe(free.allowed());
    expect(free.allowedWithin(10_000)).toBe(free.allowed());
  });

  test("Gemma 3's SentencePiece byte-fallback tokens: whole characters pass, a broken UTF-8 sequence does not", () => {
    const gemma = ggufTokenizer(GEMMA3);
    const byte = (b: number) => gemma.tokenToId(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)!;
    const s = createConstraint(gemma, schema({ type: "string" }));
    s.advance(gemma.encode('"', { addSpecialTokens: false })[0]!);
    s.advance(byte(0xc3));
    expect(s.allowed()[byte(0xa9)]).toBe(1); // é = C3 A9
    expect(s.allowed()[byte(0x41)]).toBe(0); // a lead byte must be followed by a continuation byte
    s.advance(byte(0xa9));
    expect(s.allowed()[byte(0x41)]).toBe(1);
    const validate = ajv.compile(PERSON);
    for (let seed = 1; seed <= 5; seed++) {
      const state = createConstraint(gemma, schema(PERSON));
      const { text, ended } = randomWalk(gemma, state, seed);
      expect(ended).toBe(true);
      expect({ text, valid: validate(JSON.parse(text)) }).toEqual({ text, valid: true });
    }
  });
});

describe("a format on a thinking model", () => {
  test("the thought is free text; only what follows the close tag is constrained", async () => {
    const qwen = await Tokenizer.fromFiles(tinyQwen3Dir());
    const open = qwen.tokenToId("<think>")!;
    const close = qwen.tokenToId("</think>")!;
    const word = qwen.encode("hello", { addSpecialTokens: false })[0]!;
    const brace = qwen.encode("{", { addSpecialTokens: false })[0]!;
    const gate = requestConstraint(qwen, { kind: "json" }, "<|im_start|>assistant\n", true) as ThinkingGate;
    expect(gate.allowed()![open]).toBe(1); // the model may open a thought ...
    expect(gate.allowed()![brace]).toBe(1); // ... or answer at once
    expect(gate.allowed()![word]).toBe(0);
    gate.advance(open);
    expect(gate.allowed()).toBeNull(); // inside the thought anything goes
    gate.advance(word);
    gate.advance(close);
    expect(gate.allowed()![word]).toBe(0);
    expect(gate.allowed()![brace]).toBe(1);
    for (const id of qwen.encode('{"a": 1}', { addSpecialTokens: false })) gate.advance(id);
    expect(gate.finished).toBe(true);
  });

  test("a prompt that opened the thought starts inside it; thinking off and forced tool calls are not gated", async () => {
    const qwen = await Tokenizer.fromFiles(tinyQwen3Dir());
    const word = qwen.encode("hello", { addSpecialTokens: false })[0]!;
    const opened = requestConstraint(qwen, { kind: "json" }, "<|im_start|>assistant\n<think>\n", false) as ThinkingGate;
    expect(opened.allowed()).toBeNull();
    expect(requestConstraint(qwen, { kind: "json" }, "<|im_start|>assistant\n<think>\n\n</think>\n\n", false)).toBeInstanceOf(ConstraintState);
    const call: OutputConstraint = { kind: "tool_call", prefix: "<tool_call>", schema: { type: "object" }, suffix: "</tool_call>" };
    const forced = requestConstraint(qwen, call, "<|im_start|>assistant\n<think>\n", true) as ConstraintState;
    expect(forced).toBeInstanceOf(ConstraintState);
    expect(forced.allowed()[word]).toBe(0);
  });
});
