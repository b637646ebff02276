// POST /api/finetune (alias /finetune): LoRA fine-tuning into a new model, served by name. The rows (inline, or
// JSONL blobs uploaded first as `create` does) are checked here; the training runs in a runner process of its own
// (train/finetune.ts), so serving goes on; its progress streams as NDJSON in /api/pull's shape (status, completed,
// total) with the loss beside it. At the end the adapter's files become adapter layers over the base's, as
// `create` with `adapters` makes them. A client that disconnects cancels the run; nothing is written until the end.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Elysia } from "elysia";
import { InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { progressResponse } from "../api/ndjson.ts";
import type { TrainOptions } from "../engine/protocol.ts";
import { ADAPTER_FOLDER } from "../formats/adapter.ts";
import { RunnerProcess } from "../scheduler/runner-process.ts";
import { ErrorResponse, FinetuneProgress, FinetuneRequest } from "../schemas/index.ts";
import { InvalidModelNameError, parseModelName } from "../store/names.ts";
import { MEDIA, type Layer } from "../store/store.ts";
import { DatasetError, parseJsonl } from "../train/data.ts";
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
  weight_decay: 0,
  warmup: 0,
};

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

async function* finetuneProgress(app: AppContext, body: FinetuneRequest, signal: AbortSignal): AsyncGenerator<FinetuneProgress> {
  let name;
  try {
    name = parseModelName(body.model);
  } catch (e) {
    if (e instanceof InvalidModelNameError) throw new InvalidRequestError(e.message);
    throw e;
  }
  const base = findModel(app.store, body.from);
  if (base.manifest.layers.some((l) => l.mediaType === MEDIA.adapter)) throw new InvalidRequestError("the base model already has an adapter: fine-tune the model it was made from");
  const train = body.files?.["train.jsonl"] ? blobRows(app, body.files["train.jsonl"], "train.jsonl") : (body.data ?? []);
  const valid = body.files?.["valid.jsonl"] ? blobRows(app, body.files["valid.jsonl"], "valid.jsonl") : (body.valid ?? []);
  if (train.length === 0) throw new InvalidRequestError("invalid training data: no rows (give `data`, or `files` with train.jsonl)");
  checkRows(train, "train");
  checkRows(valid, "valid");
  const options: TrainOptions = { ...FINETUNE_DEFAULTS };
  for (const [k, v] of Object.entries(body.parameters ?? {})) if (v !== undefined && v !== null) (options as unknown as Record<string, unknown>)[k] = v;

  const work = join(app.store.root, ".ollmlx-train");
  mkdirSync(work, { recursive: true });
  const outDir = mkdtempSync(join(work, "run-"));
  const runner = new RunnerProcess();
  let call: ReturnType<RunnerProcess["request"]> | null = null;
  try {
    yield { status: "loading model" };
    await runner.ready;
    call = runner.request({ op: "train", params: { model: { name: base.display, ...app.store.modelPath(base) }, train, valid, options, outDir } });
    let finished = false;
    for await (const e of call.events) {
      if (signal.aborted) break;
      if (e.type === "train") {
        yield {
          status: "training",
          completed: e.iteration,
          total: e.total,
          loss: e.loss,
          learning_rate: e.learningRate,
          tokens_per_second: Math.round(e.tokensPerSecond * 10) / 10,
          trained_tokens: e.trainedTokens,
          peak_memory: Math.round(e.peakMemory / 1e6) / 1e3,
        };
      } else if (e.type === "validate") yield { status: "validating", completed: e.iteration, total: options.iters, val_loss: e.loss };
      else if (e.type === "done") finished = e.reason === "ok";
    }
    if (!finished) throw new InvalidRequestError("the training was cancelled");
    const layers: Layer[] = [...base.manifest.layers];
    for (const file of ["adapters.safetensors", "adapter_config.json"]) {
      const layer = await app.store.importFile(join(outDir, file), MEDIA.adapter, `${ADAPTER_FOLDER}/${file}`);
      yield { status: `creating adapter layer ${layer.digest}`, digest: layer.digest };
      layers.push(layer);
    }
    yield { status: "writing manifest" };
    app.store.writeManifest(name, base.config, layers);
    yield { status: "success" };
  } finally {
    call?.cancel();
    await runner.stop();
    rmSync(outDir, { recursive: true, force: true });
  }
}

export function finetuneRoutes(app: AppContext) {
  const handler = ({ body, request }: { body: FinetuneRequest; request: Request }) =>
    progressResponse(finetuneProgress(app, body, request.signal), body.stream, request.signal);
  const doc = {
    body: FinetuneRequest,
    parse: "json" as const,
    response: { 200: FinetuneProgress, 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse },
  };
  return new Elysia({ name: "finetune" })
    .post("/api/finetune", handler, {
      ...doc,
      detail: {
        summary: "Fine-tune a model with LoRA into a new model",
        description:
          "Trains a LoRA adapter on `from` (a safetensors model, float or quantized) in a runner of its own and stores `model` as the base's layers plus the adapter, " +
          "served by name like any model. Rows: mlx-lm's JSONL formats, inline (`data`, `valid`) or uploaded with POST /api/blobs (`files`: train.jsonl, valid.jsonl). " +
          "Streams NDJSON progress (status training, completed/total iterations, loss, learning_rate, tokens_per_second), then the layers and success; " +
          "a client that disconnects cancels the run. An ollmlx route: Ollama has no training API.",
        tags: ["models"],
      },
    })
    .post("/finetune", handler, { ...doc, detail: { summary: "Alias of /api/finetune", tags: ["models"] } });
}
