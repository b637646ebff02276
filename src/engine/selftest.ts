// A real MLX workload with no model: a small recurrent matmul chain, one event per step.
// It is how `ollmlx serve` checks a new runner end to end, and how tests drive cancel, errors and crashes.
import { matmul, random, scope, tanh, sum, ones, multiply, type MxArray } from "../ffi/index.ts";
import type { RunnerRequest } from "./protocol.ts";
import type { JobContext } from "./job.ts";

export async function runSelftest(req: Extract<RunnerRequest, { op: "selftest" }>, ctx: JobContext): Promise<void> {
  const size = Math.max(1, Math.min(4096, Math.floor(req.size)));
  using key = random.key(0);
  using w = scope(() => multiply(random.normal([size, size], { key }), 1 / Math.sqrt(size)));
  let x: MxArray = ones([1, size]);
  try {
    for (let i = 0; i < req.steps; i++) {
      if (req.stepDelayMs) await Bun.sleep(req.stepDelayMs);
      await ctx.yieldToLoop();
      if (ctx.cancelled()) {
        ctx.emit({ type: "done", id: req.id, reason: "cancelled", data: { steps: i } });
        return;
      }
      const next = scope(() => tanh(matmul(x, w)));
      x.free();
      x = next;
      const value = scope(() => sum(x).item());
      ctx.emit({ type: "step", id: req.id, index: i, value });
    }
    if (req.fail === "mlx") {
      // A shape mismatch MLX itself rejects: the runner must report it and keep serving.
      scope(() => matmul(x, ones([size + 1, 3])));
    }
    ctx.emit({ type: "done", id: req.id, reason: "ok", data: { steps: req.steps } });
  } finally {
    x.free();
  }
}
