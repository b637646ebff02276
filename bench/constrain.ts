#!/usr/bin/env bun
// Constrained decoding's cost: generation tokens/s on one model and prompt, with and without a JSON schema,
// alternating in one process (same machine state). The first constrained run pays for the masks of the states
// it meets for the first time (cached per model and schema afterwards); it is reported apart.
//   bun bench/constrain.ts [--model smollm2|gemma3|PATH] [--gen 96] [--runs 5] [--json out.json]
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { complete, loadGgufModel, type LoadedModel } from "../src/engine/completion.ts";
import { createConstraint, type TokenConstraint } from "../src/engine/constrain/constraint.ts";
import { shouldDequantizeOnCpu } from "../src/engine/cpu-backend.ts";
import { applyChatTemplate } from "../src/formats/tokenizer/chat-template.ts";
import { reexecWithRunnerBlas } from "./lib/blas.ts";

reexecWithRunnerBlas();

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "smollm2" },
    gen: { type: "string", default: "96" },
    runs: { type: "string", default: "5" },
    json: { type: "string" },
  },
});
const root = join(import.meta.dir, "..");
const known: Record<string, string> = {
  smollm2: join(root, ".deps/models/smollm2-135m-instruct-q4_1.gguf"),
  gemma3: join(root, ".deps/models/gemma-3-270m-q4_k_m.gguf"),
};
const file = known[values.model!] ?? values.model!;
const nGen = Number(values.gen);
const runs = Number(values.runs);

const SCHEMA = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer" },
    email: { type: "string" },
    hobbies: { type: "array", items: { type: "string" } },
    address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" } }, required: ["street", "city"] },
  },
  required: ["name", "age", "email", "hobbies", "address"],
};

/** JS time spent in the constraint (mask building and advancing), whatever the machine's load does to MLX. */
let constraintMs = 0;
function timed(c: TokenConstraint): TokenConstraint {
  return {
    mask(v) {
      const t = performance.now();
      const m = c.mask(v);
      constraintMs += performance.now() - t;
      return m;
    },
    advance(token) {
      const t = performance.now();
      c.advance(token);
      constraintMs += performance.now() - t;
    },
    get finished() {
      return c.finished;
    },
  };
}

interface Run {
  tokens: number;
  tps: number;
  text: string;
}

async function generate(lm: LoadedModel, prompt: number[], constrained: boolean, seed: number): Promise<Run> {
  const constraint = constrained ? timed(createConstraint(lm.tokenizer, { kind: "json_schema", schema: SCHEMA })) : undefined;
  const opts = { temperature: 0.7, topK: 40, topP: 0.9, minP: 0, repeatPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, repeatLastN: 64 };
  const run = complete(lm, prompt, { ...opts, seed, maxTokens: nGen, numCtx: 4096, stop: [], constraint }, { cancelled: () => false, yieldToLoop: async () => {} });
  let text = "";
  while (true) {
    const r = await run.next();
    if (r.done) return { tokens: r.value.generatedTokens, tps: r.value.generatedTokens / (r.value.generateNs / 1e9), text };
    text += r.value.text;
  }
}

const dequantize = shouldDequantizeOnCpu(statSync(file).size * 2, "cpu");
using lm = loadGgufModel("bench", file, { dequantize });
const rendered = applyChatTemplate(lm.tokenizer, [{ role: "user", content: "Invent a person and describe them as JSON with name, age, email, hobbies and address." }], { addGenerationPrompt: true });
const prompt = lm.tokenizer.encode(rendered, { addSpecialTokens: false });

await generate(lm, prompt, false, 0); // warm-up: MLX kernels, caches
const cold = await generate(lm, prompt, true, 0);
const coldMsPerToken = constraintMs / cold.tokens;
constraintMs = 0;
const free: Run[] = [];
const constrained: Run[] = [];
for (let i = 1; i <= runs; i++) {
  free.push(await generate(lm, prompt, false, i));
  constrained.push(await generate(lm, prompt, true, i));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const freeTps = median(free.map((r) => r.tps));
const constrainedTps = median(constrained.map((r) => r.tps));
const slowdown = (1 - constrainedTps / freeTps) * 100;
const validJson = constrained.filter((r) => {
  try {
    JSON.parse(r.text);
    return true;
  } catch {
    return false;
  }
}).length;

const result = {
  model: values.model,
  dequantize,
  maxTokens: nGen,
  runs,
  unconstrained_tps: +freeTps.toFixed(2),
  constrained_tps: +constrainedTps.toFixed(2),
  slowdown_pct: +slowdown.toFixed(1),
  constrained_first_run_tps: +cold.tps.toFixed(2),
  constraint_ms_per_token: +(constraintMs / constrained.reduce((n, r) => n + r.tokens, 0)).toFixed(3),
  constraint_ms_per_token_first_run: +coldMsPerToken.toFixed(3),
  step_ms_unconstrained: +(1000 / freeTps).toFixed(1),
  constrained_tokens: constrained.map((r) => r.tokens),
  constrained_valid_json: `${validJson}/${runs}`,
  sample: constrained[0]?.text,
};
console.log(JSON.stringify(result, null, 2));
if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + "\n");
