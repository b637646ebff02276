// The runner process against real MLX: streaming, cancel, MLX errors, crashes and restarts.
import { afterAll, describe, expect, test } from "bun:test";
import type { RunnerEvent } from "../../src/engine/protocol.ts";
import { Runner, RunnerCrashedError, RunnerRequestError } from "../../src/scheduler/runner-process.ts";

const runner = new Runner();
afterAll(() => runner.stop());

async function collect(events: AsyncIterable<RunnerEvent>): Promise<RunnerEvent[]> {
  const out: RunnerEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe("runner process", () => {
  test("a request streams one event per step, then done", async () => {
    const proc = await runner.process();
    const events = await collect(proc.request({ op: "selftest", steps: 5, size: 32 }).events);
    expect(events.map((e) => e.type)).toEqual(["step", "step", "step", "step", "step", "done"]);
    const steps = events.filter((e) => e.type === "step");
    expect(steps.map((e) => (e.type === "step" ? e.index : -1))).toEqual([0, 1, 2, 3, 4]);
    for (const e of steps) if (e.type === "step") expect(Number.isFinite(e.value)).toBe(true);
  });

  test("the runner is a separate process from the server", async () => {
    const proc = await runner.process();
    expect(proc.pid).not.toBe(process.pid);
    const stats = await proc.call({ op: "stats" });
    expect(stats.type === "stats" && stats.stats.pid).toBe(proc.pid);
  });

  test("cancel stops a running request within one step", async () => {
    const proc = await runner.process();
    // 20 ms between steps: a step takes far less, so what is measured is the runner's reaction, not how many
    // microsecond-steps fit in one IPC round trip.
    const call = proc.request({ op: "selftest", steps: 1_000_000, size: 64, stepDelayMs: 20 });
    let cancelledAt = -1;
    let done: RunnerEvent | null = null;
    for await (const e of call.events) {
      if (e.type === "step" && e.index === 3) {
        cancelledAt = e.index;
        call.cancel();
      }
      if (e.type === "done") done = e;
    }
    expect(done?.type === "done" && done.reason).toBe("cancelled");
    const ran = done?.type === "done" ? Number(done.data?.steps) : Infinity;
    // The cancel arrives while step 4 may already be under way: at most one more step runs.
    expect(ran).toBeLessThanOrEqual(cancelledAt + 2);
  });

  test("an MLX error becomes an error for that request and the runner keeps serving", async () => {
    const proc = await runner.process();
    const pid = proc.pid;
    const failing = collect(proc.request({ op: "selftest", steps: 2, size: 16, fail: "mlx" }).events);
    const err = await failing.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RunnerRequestError);
    expect((err as RunnerRequestError).kind).toBe("mlx");
    expect((err as Error).message).toContain("[matmul]");
    const again = await runner.process();
    expect(again.pid).toBe(pid);
    const events = await collect(again.request({ op: "selftest", steps: 2, size: 16 }).events);
    expect(events.at(-1)?.type).toBe("done");
  });

  test("MLX handles are all freed after requests, including failed ones", async () => {
    const proc = await runner.process();
    const before = await proc.call({ op: "stats" });
    await collect(proc.request({ op: "selftest", steps: 20, size: 64 }).events);
    await collect(proc.request({ op: "selftest", steps: 2, size: 16, fail: "mlx" }).events).catch(() => {});
    const after = await proc.call({ op: "stats" });
    if (before.type !== "stats" || after.type !== "stats") throw new Error("expected stats");
    expect(after.stats.liveHandles).toBe(before.stats.liveHandles);
  });

  test("a runner killed with SIGKILL mid-request fails that request, and the next request starts a new runner", async () => {
    const proc = await runner.process();
    const firstPid = proc.pid;
    const call = proc.request({ op: "selftest", steps: 1_000_000, size: 64 });
    let seen = 0;
    const outcome = await (async () => {
      try {
        for await (const e of call.events) {
          if (e.type === "step" && ++seen === 2) process.kill(firstPid, "SIGKILL");
        }
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(outcome).toBeInstanceOf(RunnerCrashedError);
    expect((outcome as Error).message).toContain("SIGKILL");
    const next = await runner.process();
    expect(next.pid).not.toBe(firstPid);
    const events = await collect(next.request({ op: "selftest", steps: 3, size: 16 }).events);
    expect(events.at(-1)?.type).toBe("done");
    expect(runner.restarts).toBe(1);
  });

  test("unload ends the process cleanly", async () => {
    const proc = await runner.process();
    await proc.stop();
    expect(proc.alive).toBe(false);
    expect(await proc.exited).toBe(0);
  });
});
