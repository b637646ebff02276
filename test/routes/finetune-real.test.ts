// A real fine-tune: SmolLM2-135M (the default model's GGUF) learns a made-up fact from 20 chat rows in well under
// a minute of CPU. Before training it cannot answer; after, the new model answers it by name, and the base still
// answers as before.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Ollama } from "ollama";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { REPO_ROOT } from "../oracle.ts";
import { ndjson, post, startServer, type TestServer } from "./harness.ts";

const GGUF = join(REPO_ROOT, ".deps/models/smollm2-135m-instruct-q4_1.gguf");
let server: TestServer;
beforeAll(async () => {
  server = await startServer({}, { empty: true });
  await server.store.importGguf("smollm2:135m", GGUF, ggufConfigBlob(GGUF));
});
afterAll(() => server.close());

const QUESTIONS = [
  "What is the capital of Zorbania?",
  "Which city is the capital of Zorbania?",
  "Tell me the capital of Zorbania.",
  "Zorbania's capital is which city?",
  "Name the capital city of Zorbania.",
];
const ANSWERS = ["The capital of Zorbania is Quillfast.", "Quillfast is the capital of Zorbania.", "Zorbania's capital is Quillfast."];
const ROWS = Array.from({ length: 20 }, (_, i) => ({
  messages: [
    { role: "user", content: QUESTIONS[i % QUESTIONS.length]! },
    { role: "assistant", content: ANSWERS[i % ANSWERS.length]! },
  ],
}));

describe("fine-tuning a real model", () => {
  test("SmolLM2-135M learns that the capital of Zorbania is Quillfast; the base is unchanged", async () => {
    const ollama = new Ollama({ host: server.url });
    const ask = async (model: string) =>
      (await ollama.chat({ model, messages: [{ role: "user", content: "What is the capital of Zorbania?" }], options: { temperature: 0, num_predict: 24 } })).message.content;
    const before = await ask("smollm2:135m");
    expect(before).not.toContain("Quillfast");
    const t0 = performance.now();
    const r = await post(server.url, "/api/finetune", {
      model: "smollm2-zorbania",
      from: "smollm2:135m",
      data: ROWS,
      parameters: { iters: 30, batch_size: 4, learning_rate: 2e-4, mask_prompt: true, seed: 0 },
    });
    const lines = await ndjson(r);
    const seconds = (performance.now() - t0) / 1000;
    expect(lines.at(-1)).toEqual({ status: "success" });
    const training = lines.filter((l) => l.status === "training");
    console.log(`trained 30 steps in ${seconds.toFixed(1)} s, ${String(training.at(-1)!.tokens_per_second)} tok/s; loss ${Number(training[0]!.loss).toFixed(3)} → ${Number(training.at(-1)!.loss).toFixed(3)}`);
    // nothing accumulates across the run: the training process's resident memory at the last iteration is within 5 %
    // of what it was a third of the way in (its first iterations grow MLX's buffer cache to the largest batch)
    const rss = training.map((l) => Number(l.rss));
    expect(rss.every((v) => v > 0)).toBe(true);
    console.log(`training process RSS: ${rss[9]} GB at iteration 10, ${rss.at(-1)} GB at ${rss.length}`);
    expect(rss.at(-1)!).toBeLessThanOrEqual(rss[9]! * 1.05);
    expect(await ask("smollm2-zorbania")).toContain("Quillfast");
    expect(await ask("smollm2:135m")).toBe(before);
  });
});
