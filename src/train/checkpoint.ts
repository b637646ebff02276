// Where an interrupted fine-tuning run waits to be resumed: <store>/.ollmlx-train/checkpoints/<hash of the new
// model's name>/, outside manifests/ so it is never listed as a model. run.json (the route's: the base, the rows,
// the parameters) is written when a run starts; each checkpoint is a folder step-NNNNNNN/ with state.json (the
// iteration, Adam's step count, the batches left in this pass) and state.safetensors (the adapters, Adam's moments,
// accumulated gradients), written under a temporary name and renamed, so a run killed mid-write leaves the last
// whole one. A finished run's folder is removed. No MLX here: the server reads these files too.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainOptions } from "../engine/protocol.ts";
import { sha256Hex } from "../store/store.ts";
import { displayName, type ModelName } from "../store/names.ts";

/** What `resume` continues: the run as it was asked for. */
export interface CheckpointRun {
  model: string;
  from: string;
  /** the base's layer digests: a base changed since is not resumed */
  baseLayers: string[];
  options: TrainOptions;
  train: unknown[];
  valid: unknown[];
  fuse: boolean;
}

export interface CheckpointState {
  iteration: number;
  updates: number;
  trainedTokens: number;
  /** this pass's batches not yet trained on (row indices) */
  order: number[][];
}

const STATE_TENSORS = "state.safetensors";

export function checkpointDir(root: string, name: ModelName): string {
  return join(root, ".ollmlx-train", "checkpoints", sha256Hex(displayName(name).toLowerCase()).slice(0, 32));
}

export function writeRun(dir: string, run: CheckpointRun): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "run.json"), JSON.stringify(run));
}

export function readRun(dir: string): CheckpointRun | null {
  const file = join(dir, "run.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as CheckpointRun) : null;
}

/** The newest whole checkpoint's folder, or null. */
export function latestStep(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const steps = readdirSync(dir).filter((f) => /^step-\d{7}$/.test(f)).sort();
  return steps.length > 0 ? join(dir, steps.at(-1)!) : null;
}

export function readState(stepDir: string): { state: CheckpointState; tensors: string } {
  return { state: JSON.parse(readFileSync(join(stepDir, "state.json"), "utf8")) as CheckpointState, tensors: join(stepDir, STATE_TENSORS) };
}

/** A new checkpoint: `writeTensors` fills the safetensors file it is given; then older checkpoints go. */
export function writeState(dir: string, state: CheckpointState, writeTensors: (file: string) => void): void {
  const name = `step-${String(state.iteration).padStart(7, "0")}`;
  const tmp = join(dir, `${name}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeTensors(join(tmp, STATE_TENSORS));
  writeFileSync(join(tmp, "state.json"), JSON.stringify(state));
  rmSync(join(dir, name), { recursive: true, force: true });
  renameSync(tmp, join(dir, name));
  for (const f of readdirSync(dir)) if (f.startsWith("step-") && f !== name) rmSync(join(dir, f), { recursive: true, force: true });
}
