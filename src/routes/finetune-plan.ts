// What a /api/finetune request asks for, checked before anything runs (every mistake a 400, an unknown base a 404):
// a fresh run (the base, its rows, the parameters over the defaults), or `resume`, which continues the checkpoint of
// the same model name (train/checkpoint.ts) with the run's own base, rows and parameters; a request may repeat them,
// but not change them.
import { readFileSync } from "node:fs";
import { InvalidRequestError, MESSAGES } from "../api/errors.ts";
import type { TrainOptions } from "../engine/protocol.ts";
import type { FinetuneRequest } from "../schemas/index.ts";
import { InvalidModelNameError, parseModelName, type ModelName } from "../store/names.ts";
import { MEDIA, type StoredModel } from "../store/store.ts";
import { checkpointDir, latestStep, readRun, readState, type CheckpointRun } from "../train/checkpoint.ts";
import { DatasetError, parseJsonl } from "../train/data.ts";
import { scheduleProblem } from "../train/schedule.ts";
import { findModel, type AppContext } from "./context.ts";

export const FINETUNE_DEFAULTS: TrainOptions = {
  iters: 100,
  batch_size: 4,
  learning_rate: 1e-4,
  rank: 8,
  scale: 20,
  num_layers: 16,
  max_seq_length: 2048,
  mask_prompt: false,
  seed: 0,
  dropout: 0,
  grad_checkpoint: false,
  weight_decay: 0,
  warmup: 0,
  grad_accumulation_steps: 1,
  save_every: 100,
};

export interface FinetunePlan {
  name: ModelName;
  base: StoredModel;
  run: CheckpointRun;
  checkpointDir: string;
  /** the iteration a resumed run continues after (0: a fresh run) */
  resumeAt: number;
}

/** A row's shape, before the runner tokenizes it: the error names its line. */
function checkRows(rows: readonly unknown[], what: string): void {
  rows.forEach((r, i) => {
    const row = r as Record<string, unknown>;
    const ok =
      row !== null &&
      typeof row === "object" &&
      !Array.isArray(row) &&
      (typeof row.text === "string" || Array.isArray(row.messages) || (typeof row.prompt === "string" && typeof row.completion === "string"));
    if (!ok) throw new InvalidRequestError(`invalid training data: ${what} line ${i + 1} needs "messages", "prompt" and "completion", or "text"`);
  });
}

function blobRows(app: AppContext, digest: string, file: string): unknown[] {
  if (!/^sha256[:-][0-9a-f]{64}$/.test(digest)) throw new InvalidRequestError(MESSAGES.invalidDigest);
  const normalized = digest.replace("-", ":");
  if (!app.store.hasBlob(normalized)) throw new InvalidRequestError(`missing blob ${normalized} for ${file}`);
  try {
    return parseJsonl(readFileSync(app.store.blobPath(normalized), "utf8"), file);
  } catch (e) {
    if (e instanceof DatasetError) throw new InvalidRequestError(`invalid training data: ${e.message}`);
    throw e;
  }
}

function optionsOf(body: FinetuneRequest): TrainOptions {
  const options: TrainOptions = { ...FINETUNE_DEFAULTS };
  for (const [k, v] of Object.entries(body.parameters ?? {})) if (v !== undefined && v !== null) (options as unknown as Record<string, unknown>)[k] = v;
  const problem = options.lr_schedule ? scheduleProblem(options.lr_schedule) : null;
  if (problem) throw new InvalidRequestError(problem);
  if (options.lr_schedule && options.warmup > 0) throw new InvalidRequestError("give either warmup or lr_schedule (with its own warmup), not both");
  if (options.grad_accumulation_steps > options.iters) throw new InvalidRequestError(`grad_accumulation_steps (${options.grad_accumulation_steps}) is more than iters (${options.iters}): no update would be made`);
  return options;
}

const baseLayers = (m: StoredModel) => m.manifest.layers.map((l) => l.digest);

export function planFinetune(app: AppContext, body: FinetuneRequest): FinetunePlan {
  let name: ModelName;
  try {
    name = parseModelName(body.model);
  } catch (e) {
    if (e instanceof InvalidModelNameError) throw new InvalidRequestError(e.message);
    throw e;
  }
  const dir = checkpointDir(app.store.root, name);
  const hasRows = body.data !== undefined || body.files !== undefined || body.valid !== undefined;
  const rows = () => {
    const train = body.files?.["train.jsonl"] ? blobRows(app, body.files["train.jsonl"], "train.jsonl") : (body.data ?? []);
    const valid = body.files?.["valid.jsonl"] ? blobRows(app, body.files["valid.jsonl"], "valid.jsonl") : (body.valid ?? []);
    if (train.length === 0) throw new InvalidRequestError("invalid training data: no rows (give `data`, or `files` with train.jsonl)");
    checkRows(train, "train");
    checkRows(valid, "valid");
    return { train, valid };
  };

  if (body.resume) {
    const run = readRun(dir);
    const step = latestStep(dir);
    if (!run || !step) throw new InvalidRequestError(`no checkpoint to resume for '${body.model}': start it without "resume"`);
    const base = findModel(app.store, run.from);
    if (baseLayers(base).join() !== run.baseLayers.join()) throw new InvalidRequestError(`the base model '${run.from}' changed since the checkpoint: start again without "resume"`);
    if (body.from !== undefined && findModel(app.store, body.from).display !== base.display) throw new InvalidRequestError(`resume continues the run from '${run.from}', not '${body.from}'`);
    for (const [k, v] of Object.entries(body.parameters ?? {})) {
      const had = (run.options as unknown as Record<string, unknown>)[k];
      if (v !== undefined && JSON.stringify(v) !== JSON.stringify(had)) throw new InvalidRequestError(`resume continues the run with its own parameters: ${k} was ${JSON.stringify(had ?? null)}, not ${JSON.stringify(v)}`);
    }
    if (hasRows) {
      const { train, valid } = rows();
      if (JSON.stringify(train) !== JSON.stringify(run.train) || JSON.stringify(valid) !== JSON.stringify(run.valid)) throw new InvalidRequestError("resume continues the run on its own rows: these differ");
    }
    return { name, base, run: { ...run, fuse: body.fuse ?? run.fuse }, checkpointDir: dir, resumeAt: readState(step).state.iteration };
  }

  if (!body.from) throw new InvalidRequestError('"from" is required: the model to fine-tune (or "resume": true to continue a run)');
  const base = findModel(app.store, body.from);
  if (base.manifest.layers.some((l) => l.mediaType === MEDIA.adapter)) throw new InvalidRequestError("the base model already has an adapter: fine-tune the model it was made from");
  const { train, valid } = rows();
  const options = optionsOf(body);
  const run: CheckpointRun = { model: body.model, from: base.display, baseLayers: baseLayers(base), options, train, valid, fuse: body.fuse ?? false };
  return { name, base, run, checkpointDir: dir, resumeAt: 0 };
}
