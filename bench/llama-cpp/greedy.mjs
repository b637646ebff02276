// llama.cpp's tokenization and greedy continuation of prompts (the GGUF oracle for test/formats/gguf.test.ts).
//   node greedy.mjs FILE N_TOKENS PROMPT...   → one JSON line per prompt: {prompt, ids, greedy}
import { getLlama } from "node-llama-cpp";

const [file, n, ...prompts] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath: file });
for (const prompt of prompts) {
  const ctx = await model.createContext({ contextSize: 512 });
  const seq = ctx.getSequence();
  const ids = model.tokenize(prompt, true);
  const greedy = [];
  for await (const t of seq.evaluate(ids, { temperature: 0 })) {
    greedy.push(t);
    if (greedy.length >= Number(n)) break;
  }
  console.log(JSON.stringify({ prompt, ids: Array.from(ids), greedy }));
  await ctx.dispose();
}
