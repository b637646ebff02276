// The learning rate of each optimizer step, in mlx's float32 arithmetic and order (mlx.optimizers.schedulers: the
// step an integer array, Python's float constants rounded to float32 as weak scalars), so a scheduled rate is mlx's
// to the bit. Without a schedule: the constant rate, or ollmlx's `warmup` (linear from rate/warmup to rate).
import { add, cos, multiply, power, scalar, scope } from "../ffi/index.ts";
import type { LrSchedule } from "./schedule.ts";

export type RateAt = (step: number) => number;

const f32 = (v: number) => scalar(v, "float32");

/** linear_schedule(init, end, steps) at `step`: min(step, steps) · ((end − init) / steps) + init */
function linear(init: number, end: number, steps: number, step: number) {
  return add(multiply(f32(Math.min(step, steps)), (end - init) / steps), init);
}

function named(s: LrSchedule, step: number) {
  const a = s.arguments;
  switch (s.name) {
    case "cosine_decay": {
      const [init, decaySteps, end = 0] = a as [number, number, number?];
      const decay = multiply(add(cos(multiply(f32(Math.min(step, decaySteps)), Math.PI / decaySteps)), 1), 0.5);
      return add(multiply(decay, init - end), end);
    }
    case "linear_schedule":
      return linear(a[0]!, a[1]!, a[2]!, step);
    case "exponential_decay":
      return multiply(power(f32(a[1]!), f32(step)), a[0]!);
    case "step_decay":
      return multiply(power(f32(a[1]!), f32(Math.floor(step / a[2]!))), a[0]!);
  }
}

/** The rate of the update taken at optimizer step `step` (0-based), as a float32 value. */
export function rateAt(schedule: LrSchedule | undefined, learningRate: number, warmup = 0): RateAt {
  // Adam takes the rate as a float32 scalar: that is the rate the step used
  if (!schedule) return (step) => Math.fround(warmup > 0 && step < warmup ? (learningRate * (step + 1)) / warmup : learningRate);
  const w = schedule.warmup ?? 0;
  if (w === 0) return (step) => scope(() => named(schedule, step).item());
  return (step) => scope(() => (step < w + 1 ? linear(schedule.warmup_init ?? 0, schedule.arguments[0]!, w, step) : named(schedule, step - (w + 1))).item());
}
