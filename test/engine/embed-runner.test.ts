// The runner serving an embedding model (real process, real all-MiniLM): requests that arrive together share one job
// (the same batches: one promptNs for all), and a bad request among them fails alone.
import { afterAll, describe, expect, test } from "bun:test";
import type { RunnerEvent } from "../../src/engine/protocol.ts";
import { Runner, RunnerRequestError } from "../../src/scheduler/runner-process.ts";
import { allMiniLmDir } from "../fixtures/all-minilm.ts";

const runner = new Runner();
afterAll(() => runner.stop());

async function last(events: AsyncIterable<RunnerEvent>): Promise<RunnerEvent | RunnerRequestError> {
  let out: RunnerEvent | null = null;
  try {
    for await (const e of events) out = e;
  } catch (e) {
    if (e instanceof RunnerRequestError) return e;
    throw e;
  }
  return out!;
}

describe("embedding runner", () => {
  test("requests sent together run as one job; the one over the context with truncate false gets its own 400", async () => {
    const proc = await runner.process();
    const loaded = await proc.call({ op: "load", model: { name: "all-minilm", format: "mlx", path: allMiniLmDir() } });
    expect(loaded).toMatchObject({ type: "loaded", contextLength: 512 });
    const params = (inputs: string[], truncate = true) => ({ op: "embed" as const, params: { inputs, truncate, numCtx: 4096 } });
    // A long job first: the three requests arrive while it runs, so they wait in the queue together.
    const busy = last(proc.request(params(Array.from({ length: 16 }, (_, i) => `busy ${i} ` + "word ".repeat(100)))).events);
    await Bun.sleep(30);
    const [a, b, tooLong] = await Promise.all([
      last(proc.request(params(["first client"])).events),
      last(proc.request(params(["second client", "and its second input"])).events),
      last(proc.request(params(["word ".repeat(600)], false)).events),
    ]);
    expect(await busy).toMatchObject({ type: "embeddings" });
    if (a instanceof RunnerRequestError || b instanceof RunnerRequestError) throw new Error("a good request failed");
    expect(a.type).toBe("embeddings");
    expect(b.type).toBe("embeddings");
    if (a.type !== "embeddings" || b.type !== "embeddings") return;
    expect(a.embeddings).toHaveLength(1);
    expect(b.embeddings).toHaveLength(2);
    expect(b.embeddings[1]).toHaveLength(384);
    expect(a.promptNs).toBe(b.promptNs);
    expect(tooLong).toBeInstanceOf(RunnerRequestError);
    expect((tooLong as RunnerRequestError).status).toBe(400);
    expect((tooLong as RunnerRequestError).message).toBe("the input length exceeds the context length");
  });

  test("generate on an embedding runner is an error, and the runner keeps embedding", async () => {
    const proc = await runner.process();
    const gen = await last(proc.request({ op: "generate", params: { prompt: "hi", options: {} as never } }).events);
    expect(gen).toBeInstanceOf(RunnerRequestError);
    expect((gen as RunnerRequestError).message).toContain("is an embedding model");
    const again = await last(proc.request({ op: "embed", params: { inputs: ["still here"], truncate: true, numCtx: 4096 } }).events);
    expect(again).toMatchObject({ type: "embeddings" });
  });
});

describe("cancelling an embedding", () => {
  test("a cancelled request stops between batches and ends cancelled; the runner goes on", async () => {
    const proc = await runner.process();
    await proc.call({ op: "load", model: { name: "all-minilm", format: "mlx", path: allMiniLmDir() } });
    // 256 inputs of ~55 tokens: 8 batches of 32
    const inputs = Array.from({ length: 256 }, (_, i) => `long input ${i} ` + "word ".repeat(50));
    const t0 = performance.now();
    const call = proc.request({ op: "embed", params: { inputs, truncate: true, numCtx: 4096 } });
    setTimeout(() => call.cancel(), 100);
    const end = await last(call.events);
    const elapsed = performance.now() - t0;
    expect(end).toMatchObject({ type: "done", reason: "cancelled" });
    const next = await last(proc.request({ op: "embed", params: { inputs: ["after the cancel"], truncate: true, numCtx: 4096 } }).events);
    expect(next).toMatchObject({ type: "embeddings" });
    // it ended after a batch or two of the eight
    const one = performance.now();
    await last(proc.request({ op: "embed", params: { inputs: inputs.slice(0, 32), truncate: true, numCtx: 4096 } }).events);
    expect(elapsed).toBeLessThan(100 + 3 * (performance.now() - one) + 300);
  });
});
