// POST /api/finetune (alias /finetune): LoRA fine-tuning into a new model, served by name. The request is checked
// here (finetune-plan.ts); the training runs in a runner process of its own (train/finetune.ts), so serving goes
// on; its progress streams as NDJSON in /api/pull's shape (status, completed, total) with the loss beside it. At
// the end the adapter's files become adapter layers over the base's, as `create` with `adapters` makes them, or
// (`fuse`) the base's weight files with the adapter merged in replace the base's (a GGUF base's: the MLX model its
// loader builds, fuse.ts). A client that disconnects
// cancels the run: no model is written, but the run's checkpoint stays for `"resume": true`.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Elysia } from "elysia";
import { InvalidRequestError } from "../api/errors.ts";
import { progressResponse } from "../api/ndjson.ts";
import { ADAPTER_FOLDER } from "../formats/adapter.ts";
import { RunnerProcess, type RunnerCall } from "../scheduler/runner-process.ts";
import { ErrorResponse, FinetuneProgress, FinetuneRequest } from "../schemas/index.ts";
import { MEDIA, type Layer } from "../store/store.ts";
import { writeRun } from "../train/checkpoint.ts";
import type { AppContext } from "./context.ts";
import { planFinetune } from "./finetune-plan.ts";
import { fusedLayers, ggufFusedLayers } from "./fuse.ts";

// One run per new model name at a time: two would write the same checkpoint.
const running = new Set<string>();

/** Lets the cancelled runner finish its step and write its checkpoint (a step can take seconds on a real model). */
async function drainCancelled(call: RunnerCall): Promise<void> {
  call.cancel();
  const drained = (async () => {
    for await (const _ of call.events);
  })().catch(() => {});
  await Promise.race([drained, Bun.sleep(CANCEL_GRACE_MS)]);
}
const CANCEL_GRACE_MS = 120_000;

async function* finetuneProgress(app: AppContext, body: FinetuneRequest, signal: AbortSignal): AsyncGenerator<FinetuneProgress> {
  const plan = planFinetune(app, body);
  if (running.has(plan.checkpointDir)) throw new InvalidRequestError(`a fine-tuning run of '${body.model}' is already in progress`);
  const { base, run } = plan;
  const options = run.options;
  const work = join(app.store.root, ".ollmlx-train");
  mkdirSync(work, { recursive: true });
  const outDir = mkdtempSync(join(work, "run-"));
  const runner = new RunnerProcess();
  let call: RunnerCall | null = null;
  let finished = false;
  let trained = false;
  running.add(plan.checkpointDir);
  try {
    if (plan.resumeAt === 0) writeRun(plan.checkpointDir, run);
    yield { status: "loading model" };
    if (plan.resumeAt > 0) yield { status: "resuming", completed: plan.resumeAt, total: options.iters };
    await runner.ready;
    const params = { model: { name: base.display, ...app.store.modelPath(base) }, train: run.train, valid: run.valid, options, outDir };
    call = runner.request({ op: "train", params: { ...params, checkpointDir: plan.checkpointDir, resume: plan.resumeAt > 0, fuse: run.fuse } });
    let files: string[] = [];
    for await (const e of call.events) {
      if (signal.aborted) break;
      if (e.type === "train") {
        trained = true;
        yield {
          status: "training",
          completed: e.iteration,
          total: e.total,
          loss: e.loss,
          learning_rate: e.learningRate,
          tokens_per_second: Math.round(e.tokensPerSecond * 10) / 10,
          trained_tokens: e.trainedTokens,
          peak_memory: Math.round(e.peakMemory / 1e6) / 1e3,
          rss: Math.round(e.rss / 1e6) / 1e3,
        };
      } else if (e.type === "validate") yield { status: "validating", completed: e.iteration, total: options.iters, val_loss: e.loss };
      else if (e.type === "done") {
        finished = e.reason === "ok";
        files = ((e.data as { files?: string[] } | undefined)?.files ?? []);
      }
    }
    if (!finished) throw new InvalidRequestError('the training was cancelled: "resume": true continues it');
    // a GGUF base fused is the MLX model its loader builds, with another config blob
    const gguf = base.config.model_format === "gguf";
    const layers = !run.fuse
      ? { ...(await adapterLayers(app, base.manifest.layers, outDir)), config: base.config }
      : gguf
        ? await ggufFusedLayers(app, base.manifest.layers, base.config, outDir, files)
        : { ...(await fusedLayers(app, base.manifest.layers, outDir, files)), config: base.config };
    for (const l of layers.added) yield { status: `creating ${run.fuse ? "fused weights" : "adapter"} layer ${l.digest}`, digest: l.digest };
    yield { status: "writing manifest" };
    app.store.writeManifest(plan.name, layers.config, layers.all);
    rmSync(plan.checkpointDir, { recursive: true, force: true });
    yield { status: "success" };
  } finally {
    if (call && !finished) await drainCancelled(call);
    await runner.stop();
    // a fresh run that failed or was cancelled before its first iteration leaves nothing to resume
    if (!finished && !trained && plan.resumeAt === 0) rmSync(plan.checkpointDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
    running.delete(plan.checkpointDir);
  }
}

/** The base's layers and the adapter's two files as adapter layers, as `create` with `adapters` makes them. */
async function adapterLayers(app: AppContext, base: readonly Layer[], outDir: string): Promise<{ all: Layer[]; added: Layer[] }> {
  const added: Layer[] = [];
  for (const file of ["adapters.safetensors", "adapter_config.json"]) added.push(await app.store.importFile(join(outDir, file), MEDIA.adapter, `${ADAPTER_FOLDER}/${file}`));
  return { all: [...base, ...added], added };
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
          "a client that disconnects cancels the run and keeps its checkpoint (also written every `save_every` iterations): `resume: true` with the same `model` continues it. " +
          "Parameters keep mlx-lm's names (grad_accumulation_steps, lr_schedule); `fuse: true` merges the adapter into the base's weights. An ollmlx route: Ollama has no training API.",
        tags: ["models"],
      },
    })
    .post("/finetune", handler, { ...doc, detail: { summary: "Alias of /api/finetune", tags: ["models"] } });
}
