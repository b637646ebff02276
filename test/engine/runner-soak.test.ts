// A runner under many short generations with cancels (issue 20): it must never crash, and its MLX handle count
// must come back to the same number after every kind of request (counting out what its prefix cache keeps).
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { RunnerEvent, SamplingParams } from "../../src/engine/protocol.ts";
import { Runner, RunnerCrashedError } from "../../src/scheduler/runner-process.ts";

const SMOLLM2 = join(import.meta.dir, "../../.deps/models/smollm2-135m-instruct-q4_1.gguf");
const runner = new Runner();
afterAll(() => runner.stop());

const options = (o: Partial<SamplingParams>): SamplingParams => ({
  temperature: 0,
  top_k: 40,
  top_p: 0.9,
  min_p: 0,
  repeat_penalty: 1.1,
  repeat_last_n: 64,
  presence_penalty: 0,
  frequency_penalty: 0,
  seed: -1,
  num_predict: 8,
  num_ctx: 512,
  num_keep: 4,
  stop: [],
  ...o,
});

test("40 short generations, a third cancelled after their first token: one runner process, handles flat", async () => {
  const proc = await runner.process();
  const loaded = await proc.call({ op: "load", model: { name: "smollm2", format: "gguf", path: SMOLLM2 } });
  expect(loaded.type).toBe("loaded");
  // Live handles beyond those the prefix cache holds on purpose: this must not grow.
  const handles = async (): Promise<number> => {
    const s = await proc.call({ op: "stats" });
    if (s.type !== "stats") throw new Error("expected stats");
    return s.stats.liveHandles - (s.stats.prefixCache?.handles ?? 0);
  };
  const run = async (i: number): Promise<RunnerEvent | undefined> => {
    const call = proc.request({
      op: "generate",
      params: {
        // a raw prompt, or a rendered chat template (SmolLM2's ChatML) tokenized as is
        ...(i % 2 === 0 ? { prompt: `Count to ${i}:` } : { prompt: `<|im_start|>user\nSay ${i} words about the sea.<|im_end|>\n<|im_start|>assistant\n`, rendered: true }),
        options: options({ num_predict: i % 3 === 1 ? 64 : 1 + (i % 6), temperature: i % 3 === 0 ? 0 : 0.8, seed: i, stop: i % 5 === 0 ? ["."] : [] }),
      },
    });
    let last: RunnerEvent | undefined;
    for await (const e of call.events) {
      if (e.type === "token" && i % 3 === 1) call.cancel();
      last = e;
    }
    return last;
  };

  await run(0);
  const warm = await handles();
  const reasons = new Map<string, number>();
  for (let i = 1; i <= 40; i++) {
    const last = await run(i);
    const reason = last?.type === "done" ? String(last.reason) : `ended with ${last?.type}`;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  expect(proc.alive).toBe(true);
  expect(runner.pid).toBe(proc.pid);
  expect(await handles()).toBe(warm);
  expect(reasons.get("cancelled")).toBeGreaterThanOrEqual(10);
  expect([...reasons.keys()].every((r) => ["cancelled", "length", "stop"].includes(r))).toBe(true);
}, 240_000);

/** The generated token ids of one request, and how it ended. */
async function tokensOf(call: { events: AsyncIterable<RunnerEvent> }): Promise<{ tokens: number[]; end: RunnerEvent | undefined }> {
  const tokens: number[] = [];
  let end: RunnerEvent | undefined;
  for await (const e of call.events) {
    if (e.type === "token") tokens.push(e.token);
    else end = e;
  }
  return { tokens, end };
}

test("four generations sent at once run side by side in one runner and answer what each answers alone", async () => {
  const proc = await runner.process();
  await proc.call({ op: "load", model: { name: "smollm2", format: "gguf", path: SMOLLM2 } });
  const prompts = ["The sky is", "Rust is a language that", "My favourite fruit", "Ten minus three is"];
  const request = (p: string) => proc.request({ op: "generate", params: { prompt: p, options: options({ num_predict: 12, repeat_penalty: 1 }) } });
  const batching = async () => {
    const s = await proc.call({ op: "stats" });
    if (s.type !== "stats" || !s.stats.batch) throw new Error("expected the batch's stats");
    return s.stats.batch;
  };
  const alone = [];
  for (const p of prompts) alone.push(await tokensOf(request(p)));
  const firstAlone = await tokensOf(request(prompts[0]!));
  const before = await batching();
  const together = await Promise.all(prompts.map((p) => tokensOf(request(p))));
  const after = await batching();
  const ends = together.map((r) => (r.end?.type === "error" ? `error: ${r.end.message}` : r.end?.type));
  expect(ends).toEqual(prompts.map(() => "done"));
  expect(firstAlone.tokens).toEqual(alone[0]!.tokens);
  // Each row's tokens, with its prompt to say which one differs.
  expect(together.map((r, i) => [prompts[i], r.tokens])).toEqual(alone.map((r, i) => [prompts[i], r.tokens]));
  // Side by side, not one after another: the steps carried all four rows at once, and the four took fewer steps
  // than the 44 tokens they stepped (counted by the runner, not timed).
  expect(after.peakRows).toBe(4);
  expect(after.rows - before.rows).toBe(44); // each first token comes from its prompt's last pass, the 11 others from steps
  expect(after.steps - before.steps).toBeLessThan(22);
}, 240_000);

test("a runner that dies with several generations in flight fails every one of them", async () => {
  const proc = await runner.process();
  await proc.call({ op: "load", model: { name: "smollm2", format: "gguf", path: SMOLLM2 } });
  const calls = [0, 1, 2].map((i) => proc.request({ op: "generate", params: { prompt: `Story ${i}:`, options: options({ num_predict: 10_000 }) } }));
  const outcomes = calls.map(async (call) => {
    try {
      for await (const e of call.events) if (e.type === "token") process.kill(proc.pid, "SIGKILL");
      return null;
    } catch (e) {
      return e;
    }
  });
  for (const o of await Promise.all(outcomes)) expect(o).toBeInstanceOf(RunnerCrashedError);
  const next = await runner.process();
  expect(next.pid).not.toBe(proc.pid);
}, 240_000);
