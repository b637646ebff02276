// mlx-lm's learning-rate schedules (`lr_schedule` in its config, tuner/utils.py build_schedule over
// mlx.optimizers.schedulers): a named schedule from `arguments` (the initial rate first), after `warmup` optimizer
// steps of a linear ramp from `warmup_init` to that rate (the two joined at warmup + 1, as build_schedule joins
// them). The schedule is read at the optimizer's step count before each update (0 at the first), as mlx's
// Optimizer.apply_gradients does. Checked here, where the server can answer 400; the runner evaluates it (lr.ts).

export const SCHEDULES = {
  cosine_decay: { args: "[init, decay_steps, end = 0]", min: 2, max: 3, steps: 1 },
  linear_schedule: { args: "[init, end, steps]", min: 3, max: 3, steps: 2 },
  exponential_decay: { args: "[init, decay_rate]", min: 2, max: 2, steps: -1 },
  step_decay: { args: "[init, decay_rate, step_size]", min: 3, max: 3, steps: 2 },
} as const;

export type ScheduleName = keyof typeof SCHEDULES;

export interface LrSchedule {
  name: ScheduleName;
  arguments: number[];
  warmup?: number;
  warmup_init?: number;
}

/** Why the schedule cannot run (mlx's own checks, and rates in (0, 1]), or null. */
export function scheduleProblem(s: LrSchedule): string | null {
  const spec = SCHEDULES[s.name];
  if (!spec) return `lr_schedule: unknown name ${JSON.stringify(s.name)} (one of ${Object.keys(SCHEDULES).join(", ")})`;
  const a = s.arguments;
  if (a.length < spec.min || a.length > spec.max) return `lr_schedule: ${s.name} takes arguments ${spec.args}`;
  if (!(a[0]! > 0 && a[0]! <= 1)) return "lr_schedule: the initial rate (arguments[0]) must be in (0, 1]";
  if (spec.steps >= 0 && !(Number.isInteger(a[spec.steps]) && a[spec.steps]! >= 1)) return `lr_schedule: ${s.name}'s ${spec.args.split(", ")[spec.steps]!.replace(/[[\]]/g, "")} must be a whole number of steps, at least 1`;
  if (a.some((v) => !Number.isFinite(v) || v < 0)) return "lr_schedule: arguments must be finite and not negative";
  if (s.warmup !== undefined && !(Number.isInteger(s.warmup) && s.warmup >= 0)) return "lr_schedule: warmup must be a whole number of steps";
  if (s.warmup_init !== undefined && !(s.warmup_init >= 0 && s.warmup_init <= 1)) return "lr_schedule: warmup_init must be in [0, 1]";
  return null;
}
