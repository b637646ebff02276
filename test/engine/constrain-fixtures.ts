// Real tokenizers for constrained-decoding tests (from the GGUF models in .deps/models), and a seeded random
// walk that samples only allowed tokens: a random model in miniature, with no MLX in the way.
import { join } from "node:path";
import { readGguf } from "../../src/formats/gguf/file.ts";
import { tokenizerFromGguf } from "../../src/formats/tokenizer/from-gguf.ts";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import type { ConstraintState } from "../../src/engine/constrain/constraint.ts";
import { createDetokenizer } from "../../src/formats/tokenizer/detokenizer.ts";
import { rng } from "../fixtures/rng.ts";

const MODELS = join(import.meta.dir, "../../.deps/models");
export const SMOLLM2 = join(MODELS, "smollm2-135m-instruct-q4_1.gguf");
export const GEMMA3 = join(MODELS, "gemma-3-270m-q4_k_m.gguf");

/** A schema with nested objects, arrays, enums, a type list and required keys; bounded so random text ends. */
export const PERSON = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 12 },
    age: { type: "integer" },
    status: { enum: ["active", "inactive", "banned"] },
    address: {
      type: "object",
      properties: { city: { type: "string", minLength: 1, maxLength: 10 }, zip: { type: ["string", "null"], maxLength: 6 } },
      required: ["city", "zip"],
    },
    tags: { type: "array", items: { type: "string", maxLength: 8 }, minItems: 1, maxItems: 3 },
    score: { type: "number" },
    verified: { type: "boolean" },
  },
  required: ["name", "age", "status", "address", "tags"],
};

const loaded = new Map<string, Tokenizer>();

/** The tokenizer of a GGUF model (byte-level BPE for SmolLM2, SentencePiece with byte fallback for Gemma 3). */
export function ggufTokenizer(path: string): Tokenizer {
  let tok = loaded.get(path);
  if (!tok) {
    const g = tokenizerFromGguf(readGguf(path).metadata);
    loaded.set(path, (tok = Tokenizer.fromObjects(g.json, g.config, g.extras)));
  }
  return tok;
}

/**
 * Samples uniformly among the allowed tokens until the constraint is finished, EOS is drawn, or `maxSteps`;
 * returns the text as the server streams it (the streaming detokenizer, not a cleaned-up decode) and whether it
 * ended on its own. With `budget`, at most that many tokens (EOS included), masked as the token loop masks them.
 */
export function randomWalk(tokenizer: Tokenizer, state: ConstraintState, seed: number, maxSteps = 400, budget?: number): { text: string; ended: boolean; steps: number } {
  const detok = createDetokenizer(tokenizer);
  const eos = tokenizer.eosTokenIds;
  let text = "";
  const next = rng(seed);
  const steps = budget ?? maxSteps;
  for (let step = 0; step < steps; step++) {
    if (state.finished) return { text: text + detok.finalize(), ended: true, steps: step };
    const allowed = budget === undefined ? state.allowed() : state.allowedWithin(budget - step);
    const ids: number[] = [];
    for (let id = 0; id < allowed.length; id++) if (allowed[id]) ids.push(id);
    const token = ids[Math.floor(next() * ids.length)]!;
    if (eos.has(token)) return { text: text + detok.finalize(), ended: true, steps: step + 1 };
    text += detok.add(token);
    state.advance(token);
    if (!state.alive) throw new Error(`token ${token} was allowed but left the language after ${JSON.stringify(text)}`);
  }
  // the token loop stops once the constraint is finished, without sampling again
  return { text: text + detok.finalize(), ended: state.finished, steps };
}
