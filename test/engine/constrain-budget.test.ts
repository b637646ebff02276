// The completion cost (budget.ts) against a brute-force search: from every prefix of valid documents, the fewest
// bytes the matcher itself needs to reach an accepting configuration, found by breadth-first search over bytes.
import { describe, expect, test } from "bun:test";
import { CompletionCost } from "../../src/engine/constrain/budget.ts";
import { CompiledConstraint } from "../../src/engine/constrain/constraint.ts";
import type { Config } from "../../src/engine/constrain/matcher.ts";
import type { ByteVocab } from "../../src/engine/constrain/vocab.ts";
import type { OutputConstraint } from "../../src/engine/protocol.ts";

const utf8 = new TextEncoder();
// the bytes a shortest completion can use: printable ASCII and UTF-8 continuation bytes
const ALPHABET = [...Array.from({ length: 0x7f - 0x20 }, (_, i) => 0x20 + i), ...Array.from({ length: 0x40 }, (_, i) => 0x80 + i)];

function compiled(spec: OutputConstraint): CompiledConstraint {
  // the cost does not look at the vocabulary: an empty one compiles the schema alone
  return new CompiledConstraint({ size: 0, eos: [] } as unknown as ByteVocab, spec);
}

/** The fewest bytes from `start` to a configuration the matcher accepts (breadth-first, configurations deduplicated). */
function shortest(c: CompiledConstraint, start: readonly Config[], limit = 60): number {
  let level = [...start];
  const seen = new Set(level.map((x) => x.key));
  for (let depth = 0; depth <= limit; depth++) {
    if (level.some((x) => c.matcher.accepts(x))) return depth;
    const next: Config[] = [];
    for (const x of level) {
      for (const b of ALPHABET) {
        const out: Config[] = [];
        c.matcher.step(x, b, out);
        for (const y of out) {
          if (seen.has(y.key)) continue;
          seen.add(y.key);
          next.push(y);
        }
      }
    }
    level = next;
  }
  return Infinity;
}

const CASES: { name: string; spec: OutputConstraint; docs: string[] }[] = [
  {
    name: "an object with required and optional keys",
    spec: {
      kind: "json_schema",
      schema: {
        type: "object",
        properties: { name: { type: "string" }, age: { type: "integer" }, tags: { type: "array", items: { type: "string" }, minItems: 2 }, nick: { type: "string" } },
        required: ["name", "age", "tags"],
      },
    },
    docs: ['{"name":"Ada \\u00e9 ü","age":-36,"tags":["a","b"]}', '{ "nick":"x","tags":["é","\\n"],"age":0,"name":""}'],
  },
  {
    name: "enums, const, anyOf, nested objects, string lengths",
    spec: {
      kind: "json_schema",
      schema: {
        type: "object",
        properties: {
          kind: { enum: ["cat", "category", 12, null] },
          v: { const: { a: 1 } },
          x: { anyOf: [{ type: "number" }, { type: "object", properties: { deep: { type: "string", minLength: 3 } }, required: ["deep"] }] },
        },
        required: ["kind", "v", "x"],
      },
    },
    docs: ['{"kind":"category","v":{"a":1},"x":{"deep":"abcd"}}', '{"x":1.5e+3,"kind":12,"v":{"a":1}}'],
  },
  { name: "any JSON (format: json)", spec: { kind: "json" }, docs: ['{"a":[1,{"b":null}],"c":"d"}', '{"k":-0.5E-2}'] },
  {
    name: "free keys (additionalProperties) and arrays of objects",
    spec: { kind: "json_schema", schema: { type: "object", additionalProperties: { type: "array", items: { type: "object", properties: { id: { type: "integer" } }, required: ["id"] }, minItems: 1 } } },
    docs: ['{"ab\\"c":[{"id":1},{"id":22}],"€":[{"id":3}]}'],
  },
];

describe("the completion cost", () => {
  for (const { name, spec, docs } of CASES) {
    test(`${name}: after every prefix, the matcher's own shortest completion`, () => {
      const c = compiled(spec);
      const cost = new CompletionCost();
      let checked = 0;
      for (const doc of docs) {
        const bytes = utf8.encode(doc);
        for (let n = 0; n <= bytes.length; n++) {
          const configs = c.advance(c.start, bytes.subarray(0, n));
          expect(configs.length).toBeGreaterThan(0);
          const ours = Math.min(...configs.map((x) => cost.cost(x)));
          const prefix = new TextDecoder().decode(bytes.subarray(0, n));
          expect({ prefix, cost: ours }).toEqual({ prefix, cost: shortest(c, configs) });
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(20);
    });
  }
});
