// The one mapping from a runner's failure to an HTTP status (scheduler/runner-process.ts runnerErrorStatus), on a
// real runner process: the client's fault is a 400, MLX's failures, the runner's own and a dead runner are 500s.
import { afterAll, describe, expect, test } from "bun:test";
import { MESSAGES, statusFor } from "../../src/api/errors.ts";
import type { RunnerEvent, SamplingParams } from "../../src/engine/protocol.ts";
import { Runner, RunnerCrashedError, RunnerRequestError, runnerErrorStatus } from "../../src/scheduler/runner-process.ts";
import { tinyQwen3Dir } from "../routes/fixtures/tiny-model.ts";

const runner = new Runner();
afterAll(() => runner.stop());

const options: SamplingParams = {
  temperature: 0,
  top_k: 40,
  top_p: 0.9,
  min_p: 0,
  repeat_penalty: 1,
  repeat_last_n: 64,
  presence_penalty: 0,
  frequency_penalty: 0,
  seed: -1,
  num_predict: 2,
  num_ctx: 8,
  num_keep: 4,
  stop: [],
};

/** The error a request ends with (or null when it ends well). */
async function failure(events: AsyncIterable<RunnerEvent>): Promise<unknown> {
  try {
    for await (const _ of events);
    return null;
  } catch (e) {
    return e;
  }
}

describe("runnerErrorStatus", () => {
  test("a status the runner names wins; a request error is 400; MLX, internal and crashed are 500", () => {
    expect(runnerErrorStatus("request")).toBe(400);
    expect(runnerErrorStatus("request", 413)).toBe(413);
    expect(runnerErrorStatus("mlx")).toBe(500);
    expect(runnerErrorStatus("internal")).toBe(500);
    expect(runnerErrorStatus("crashed")).toBe(500);
    expect(statusFor(new RunnerCrashedError("runner exited with signal SIGKILL"))).toBe(500);
  });
});

describe("a real runner's errors carry their status", () => {
  test("MLX's failure is a 500 with MLX's message", async () => {
    const proc = await runner.process();
    const err = await failure(proc.request({ op: "selftest", steps: 2, size: 16, fail: "mlx" }).events);
    expect(err).toBeInstanceOf(RunnerRequestError);
    expect(err).toMatchObject({ kind: "mlx", status: 500 });
    expect((err as Error).message).toContain("[matmul]");
  });

  test("a model that cannot load is a 500 with the loader's message", async () => {
    const proc = await runner.process();
    const err = await failure(proc.request({ op: "load", model: { name: "missing", format: "mlx", path: "/nonexistent/model" } }).events);
    expect(err).toMatchObject({ kind: "internal", status: 500 });
    expect((err as Error).message.length).toBeGreaterThan(0);
  });

  test("the client's faults are 400s: a prompt that tokenizes to nothing, one too long with truncate false", async () => {
    const proc = await runner.process();
    const loaded = await proc.call({ op: "load", model: { name: "tiny", format: "mlx", path: tinyQwen3Dir() } });
    expect(loaded.type).toBe("loaded");
    const empty = await failure(proc.request({ op: "generate", params: { prompt: "", options } }).events);
    expect(empty).toMatchObject({ kind: "request", status: 400, message: "the prompt is empty after tokenization" });
    const long = await failure(proc.request({ op: "generate", params: { prompt: "one two three four five six seven eight nine ten", truncate: false, options } }).events);
    expect(long).toMatchObject({ kind: "request", status: 400, message: MESSAGES.inputTooLong });
    // and the runner goes on serving
    expect(await failure(proc.request({ op: "generate", params: { prompt: "one", options } }).events)).toBeNull();
  });
});
