// The runner process: the only place MLX runs. Started by the server as `ollmlx runner`, one per loaded
// model, it owns MLX on this process's single main thread (MLX >= 0.31 keeps streams, RNG and compile
// caches per OS thread, so every MLX call of the process stays on this one).
//
// Generations run side by side: each starts as it arrives and their decode steps share one batched forward pass
// (decode-batch.ts); the server bounds how many a runner gets at once (OLLAMA_NUM_PARALLEL). Other requests
// (load, selftest, embed) run alone, in order — except that embed requests queued together run as one job, their
// inputs sharing batches: one waits for the generations before it, and the ones after it wait
// for it. Between steps a job yields to the event loop so that a cancel (or a stats request) sent meanwhile is
// read: a cancel stops a job within one step.
import type { RunnerEvent, RunnerRequest } from "./protocol.ts";
import { runSelftest } from "./selftest.ts";
import { finetune } from "../train/finetune.ts";
import { fuseJob } from "../train/fuse.ts";
import { batchStats, generate, loadModel, loadedModelName, prefixCacheStats } from "./serve-model.ts";
import { embed, type EmbedJob } from "./serve-embed.ts";
import { RequestError, type JobContext } from "./job.ts";


const EMBED_GATHER_MS = 2;

export async function runRunner(): Promise<void> {
  if (!process.send) {
    console.error("ollmlx runner is started by `ollmlx serve`; it talks to the server over an IPC channel");
    process.exit(2);
  }
  const send = (e: RunnerEvent) => process.send!(e);
  const ffi = await import("../ffi/index.ts");
  const cancelled = new Set<number>();
  const queue: RunnerRequest[] = [];
  let busy = false;
  const running = new Set<number>(); // the requests execute() is on
  const generations = new Set<Promise<void>>();

  const stats = (id: number): RunnerEvent => ({
    type: "stats",
    id,
    stats: {
      pid: process.pid,
      mlxVersion: ffi.mlxVersion(),
      activeMemory: ffi.memory.active(),
      peakMemory: ffi.memory.peak(),
      cacheMemory: ffi.memory.cache(),
      liveHandles: ffi.liveCount(),
      model: loadedModelName(),
      device: ffi.device.defaultDevice(),
      prefixCache: prefixCacheStats(),
      batch: batchStats(),
    },
  });

  // Errors of a job, as the events that end its requests.
  function fail(ids: readonly number[], err: unknown): void {
    const kind = err instanceof ffi.MlxError ? "mlx" : err instanceof RequestError ? "request" : "internal";
    const message = err instanceof Error ? err.message : String(err);
    const status = err instanceof RequestError ? err.status : undefined;
    for (const id of ids) send({ type: "error", id, message, kind, ...(status ? { status } : {}) });
  }

  async function executeEmbeds(jobs: EmbedJob[]): Promise<void> {
    for (const j of jobs) running.add(j.id);
    try {
      // A timer turn, not setImmediate, between batches: measured here, a setImmediate turn did not always deliver a
      // pending cancel and a timer turn did; a batch takes far longer than one.
      const yieldToLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
      await embed(jobs, { emit: send, cancelled: (id) => cancelled.has(id), yieldToLoop }, fail);
    } finally {
      for (const j of jobs) {
        running.delete(j.id);
        cancelled.delete(j.id);
      }
    }
  }

  async function execute(req: RunnerRequest): Promise<void> {
    running.add(req.id);
    const ctx: JobContext = {
      cancelled: () => cancelled.has(req.id),
      emit: send,
      yieldToLoop: () => new Promise((resolve) => setImmediate(resolve)),
    };
    try {
      switch (req.op) {
        case "selftest":
          await runSelftest(req, ctx);
          break;
        case "load":
          await loadModel(req.id, req.model, ctx);
          break;
        case "generate":
          await generate(req.id, req.params, ctx);
          break;
        case "train":
          await finetune(req.id, req.params, ctx);
          break;
        case "fuse":
          fuseJob(req.id, req.params, ctx);
          break;
        default:
          throw new Error(`unexpected request ${req.op}`);
      }
    } catch (err) {
      fail([req.id], err);
    } finally {
      cancelled.delete(req.id);
      running.delete(req.id);
    }
  }

  async function drain(): Promise<void> {
    if (busy) return;
    busy = true;
    while (queue.length > 0) {
      const req = queue.shift()!;
      if (req.op === "generate") {
        const job = execute(req).finally(() => generations.delete(job));
        generations.add(job);
        continue;
      }
      while (generations.size > 0) await Promise.all(generations);
      if (req.op === "embed") {
        // Requests sent together reach the channel a few reads apart: gather for a moment (a millisecond against a
        // batch's tens), so that clients that sent together share batches.
        await new Promise((resolve) => setTimeout(resolve, EMBED_GATHER_MS));
        const jobs: EmbedJob[] = [req];
        while (queue[0]?.op === "embed") jobs.push(queue.shift() as EmbedJob);
        await executeEmbeds(jobs);
        continue;
      }
      await execute(req);
    }
    busy = false;
  }

  process.on("message", (raw: unknown) => {
    const req = raw as RunnerRequest;
    switch (req.op) {
      case "cancel": {
        const waiting = queue.findIndex((q) => q.id === req.target);
        if (waiting >= 0) {
          queue.splice(waiting, 1);
          send({ type: "done", id: req.target, reason: "cancelled" });
        } else if (running.has(req.target)) cancelled.add(req.target); // a late cancel of a finished job is moot
        return;
      }
      case "stats":
        send(stats(req.id));
        return;
      case "unload":
        // Exiting is how a runner gives every byte back.
        process.exit(0);
      default:
        queue.push(req);
        void drain();
    }
  });
  // The server went away: nobody will read our answers, and our memory belongs to no one.
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready", pid: process.pid, mlxVersion: ffi.mlxVersion() });
}
