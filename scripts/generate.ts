#!/usr/bin/env bun
// One generation from a model directory, in this process (no server): the script-level entry used by
// bench/ and for debugging. Prints the text, then mlx_lm.generate-style statistics.
//
//   bun scripts/generate.ts --model DIR --prompt "Hello" [--max-tokens 100] [--temp 0] [--seed 0] [--raw]
import { parseArgs } from "node:util";
import { complete, loadGgufModel, loadMlxModel } from "../src/engine/completion.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    prompt: { type: "string", default: "Hello" },
    "max-tokens": { type: "string", default: "100" },
    temp: { type: "string", default: "0" },
    "top-p": { type: "string", default: "1" },
    "top-k": { type: "string", default: "0" },
    seed: { type: "string" },
    raw: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    "prefill-step": { type: "string", default: "512" },
  },
});
if (!values.model) {
  console.error("usage: bun scripts/generate.ts --model DIR --prompt TEXT [--max-tokens N] [--temp T] [--raw] [--json]");
  process.exit(2);
}

const lm = values.model.endsWith(".gguf") ? loadGgufModel(values.model, values.model) : await loadMlxModel(values.model, values.model);
const tokens = values.raw
  ? lm.tokenizer.encodePrompt(values.prompt!)
  : lm.tokenizer.encode(
      (await import("../src/formats/tokenizer/chat-template.ts")).applyChatTemplate(lm.tokenizer, [{ role: "user", content: values.prompt! }], {
        addGenerationPrompt: true,
      }),
      { addSpecialTokens: false },
    );
const run = complete(
  lm,
  tokens,
  {
    temperature: Number(values.temp),
    topK: Number(values["top-k"]),
    topP: Number(values["top-p"]),
    minP: 0,
    repeatPenalty: 1,
    repeatLastN: 64,
    presencePenalty: 0,
    frequencyPenalty: 0,
    seed: values.seed !== undefined ? Number(values.seed) : undefined,
    maxTokens: Number(values["max-tokens"]),
    numCtx: 1 << 20,
    stop: [],
    prefillStepSize: Number(values["prefill-step"]),
  },
  { cancelled: () => false, yieldToLoop: async () => {} },
);
let text = "";
while (true) {
  const r = await run.next();
  if (r.done) {
    const s = r.value;
    const promptTps = s.promptTokens / (s.promptNs / 1e9);
    const genTps = s.generatedTokens > 1 ? (s.generatedTokens - 1) / (s.generateNs / 1e9) : 0;
    if (values.json) {
      console.log(JSON.stringify({ text, ...s, promptTps, genTps, loadNs: lm.loadNs }));
    } else {
      process.stdout.write("\n==========\n");
      console.log(`Prompt: ${s.promptTokens} tokens, ${promptTps.toFixed(3)} tokens-per-sec`);
      console.log(`Generation: ${s.generatedTokens} tokens, ${genTps.toFixed(3)} tokens-per-sec`);
      console.log(`Peak memory: ${(s.peakMemory / 1e9).toFixed(3)} GB`);
    }
    break;
  }
  text += r.value.text;
  if (!values.json) process.stdout.write(r.value.text);
}
lm[Symbol.dispose]();
