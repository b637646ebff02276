// Which models are loaded, and who may use them. One runner process per model, loaded on demand; requests to
// a model run up to OLLAMA_NUM_PARALLEL at a time (the runner batches them), the rest waiting in arrival order;
// idle models unload when their keep_alive runs out, or to make room (OLLAMA_MAX_LOADED_MODELS). All MLX work
// happens in the runners: nothing here blocks the HTTP thread.
// Reference: Ollama's server/sched.go.
import { RequestCanceledError, ServerBusyError } from "../api/errors.ts";
import type { Env } from "../config/env.ts";
import { OLLAMA_KEEP_ALIVE, OLLAMA_MAX_LOADED_MODELS, OLLAMA_MAX_QUEUE, OLLAMA_NUM_PARALLEL } from "../config/settings.ts";
import type { EmbedParams, GenerateParams, RunnerEvent } from "../engine/protocol.ts";
import type { Store, StoredModel } from "../store/store.ts";
import { LoadedModel } from "./loaded-model.ts";
import { isTerminal } from "../engine/protocol.ts";

export interface SchedulerOptions {
  /** OLLAMA_MAX_LOADED_MODELS (0 or unset: 3) */
  maxLoaded: number;
  /** OLLAMA_MAX_QUEUE: requests that may wait at once; more get 503 */
  maxQueue: number;
  /** OLLAMA_NUM_PARALLEL: requests one model serves at once, their decode steps batched (default 4) */
  numParallel: number;
  /** OLLAMA_KEEP_ALIVE in ms (Infinity: forever) */
  defaultKeepAliveMs: number;
  /** how to start a runner (tests and compiled binaries differ) */
  runnerCommand?: string[];
  /** how long /api/ps waits for a runner's memory figures */
  statsTimeoutMs: number;
}

export function schedulerOptionsFromEnv(env?: Env): SchedulerOptions {
  return {
    maxLoaded: OLLAMA_MAX_LOADED_MODELS.read(env),
    maxQueue: OLLAMA_MAX_QUEUE.read(env),
    numParallel: OLLAMA_NUM_PARALLEL.read(env),
    defaultKeepAliveMs: OLLAMA_KEEP_ALIVE.read(env),
    statsTimeoutMs: 2_000,
  };
}

/** A request's hold on a loaded model: it is this request's turn on the runner until release(). */
export interface Lease {
  readonly model: StoredModel;
  readonly contextLength: number;
  /** ns this request spent being scheduled and waiting for the model to load */
  readonly loadDurationNs: number;
  /**
   * Runs one generation; returning early or `signal` aborting (client gone) cancels it in the runner. The signal
   * matters where nothing reads the events as they come (stream:false) and during a long prefill.
   */
  generate(params: GenerateParams, signal?: AbortSignal): AsyncGenerator<RunnerEvent>;
  /** Embeds a request's inputs on an embedding model; a client gone before they run cancels them. */
  embed(params: EmbedParams, signal?: AbortSignal): Promise<Embeddings>;
  release(): void;
}

export interface Embeddings {
  /** one pooled vector per input, not normalized */
  embeddings: number[][];
  promptTokens: number;
  promptNs: number;
}

export interface RunningModel {
  model: StoredModel;
  /** bytes the runner holds (MLX active + cache memory) */
  size: number;
  /** the part of it in GPU memory: all of it on a GPU device, none on the CPU backend */
  sizeVram: number;
  /** epoch ms; Infinity when kept forever */
  expiresAt: number;
  contextLength: number;
}

export interface AcquireOptions {
  /** the request's keep_alive, already parsed (ms); undefined keeps the model's current one */
  keepAliveMs?: number;
  signal?: AbortSignal;
}

export class Scheduler {
  private readonly models = new Map<string, LoadedModel>();
  private pending = 0;
  /** callers waiting for a loaded model to become idle so it can be evicted */
  private roomWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly store: Store,
    readonly options: SchedulerOptions = schedulerOptionsFromEnv(),
  ) {}

  /** Loads the model if needed and waits for this request's turn on it. */
  async acquire(model: StoredModel, opts: AcquireOptions = {}): Promise<Lease> {
    if (this.closed) throw new Error("server is shutting down");
    if (this.pending >= this.options.maxQueue) throw new ServerBusyError();
    this.pending++;
    let entry: LoadedModel | undefined;
    try {
      const start = performance.now();
      entry = await this.entryFor(model, opts);
      await entry.ready;
      // Like Ollama, the time spent scheduling and loading (small when the model was loaded already).
      const loadDurationNs = Math.max(1, Math.round((performance.now() - start) * 1e6));
      const release = await entry.lane.acquire(opts.signal);
      return this.lease(entry, release, loadDurationNs);
    } catch (error) {
      if (entry) this.letGo(entry);
      throw error;
    } finally {
      this.pending--;
    }
  }

  /** keep_alive 0 with an empty prompt: unload now if idle, else as soon as the running requests end. */
  async unload(model: StoredModel): Promise<void> {
    const entry = this.models.get(keyOf(model));
    if (!entry) return;
    entry.keepAliveMs = 0;
    if (entry.refs === 0) await this.evict(entry);
  }

  /** The loaded models for /api/ps, the one expiring last first. */
  async running(): Promise<RunningModel[]> {
    const ready = [...this.models.values()].filter((e) => e.process !== null && !e.dead);
    const out = await Promise.all(
      ready.map(async (entry): Promise<RunningModel> => {
        const { bytes, gpu } = await this.memoryOf(entry);
        return { model: entry.model, size: bytes, sizeVram: gpu ? bytes : 0, expiresAt: entry.expiresAt, contextLength: entry.contextLength };
      }),
    );
    return out.sort((a, b) => b.expiresAt - a.expiresAt);
  }

  /** Stops every runner (SIGINT/SIGTERM, or the end of a test). */
  async shutdown(): Promise<void> {
    this.closed = true;
    const all = [...this.models.values()];
    this.models.clear();
    await Promise.all(all.map((entry) => entry.stop()));
  }

  /** The model's entry, created (and its load started) if needed; the caller holds it on return. */
  private async entryFor(model: StoredModel, opts: AcquireOptions): Promise<LoadedModel> {
    const key = keyOf(model);
    while (true) {
      const existing = this.models.get(key);
      if (existing && existing.dead) {
        this.models.delete(key);
        void existing.stop();
        continue;
      }
      if (existing) {
        existing.hold();
        if (opts.keepAliveMs !== undefined) existing.keepAliveMs = opts.keepAliveMs;
        return existing;
      }
      if (this.models.size < this.options.maxLoaded) {
        const entry = new LoadedModel(key, model, opts.keepAliveMs ?? this.options.defaultKeepAliveMs, this.options.runnerCommand, this.options.numParallel);
        entry.hold();
        this.models.set(key, entry);
        entry.ready = this.load(entry);
        entry.ready.catch(() => {});
        return entry;
      }
      // Full: evict the idle model that would expire soonest, or wait until one goes idle.
      const idle = [...this.models.values()].filter((e) => e.refs === 0).sort((a, b) => a.expiresAt - b.expiresAt)[0];
      if (idle) await this.evict(idle);
      else await this.waitForRoom(opts.signal);
    }
  }

  private async load(entry: LoadedModel): Promise<void> {
    try {
      const proc = await entry.runner.process();
      const answer = await proc.call({ op: "load", model: { name: entry.model.display, ...this.store.modelPath(entry.model) } });
      if (answer.type !== "loaded") throw new Error(`runner answered load with ${answer.type}`);
      entry.contextLength = answer.contextLength;
      entry.process = proc;
    } catch (error) {
      // A failed load may leave partial state in the runner: end it, and forget the model.
      if (this.models.get(entry.key) === entry) this.models.delete(entry.key);
      await entry.stop();
      this.notifyRoom();
      throw error;
    }
  }

  private lease(entry: LoadedModel, releaseLane: () => void, loadDurationNs: number): Lease {
    let released = false;
    const scheduler = this;
    return {
      model: entry.model,
      contextLength: entry.contextLength,
      loadDurationNs,
      async *generate(params: GenerateParams, signal?: AbortSignal): AsyncGenerator<RunnerEvent> {
        const proc = entry.process;
        if (!proc) throw new Error(`${entry.model.display} is not loaded`);
        signal?.throwIfAborted();
        const call = proc.request({ op: "generate", params });
        let finished = false;
        // The runner answers a cancel with its "cancelled" done event, which ends the loop below.
        const cancel = () => call.cancel();
        signal?.addEventListener("abort", cancel, { once: true });
        try {
          for await (const event of call.events) {
            if (isTerminal(event)) finished = true;
            yield event;
          }
          finished = true;
        } finally {
          signal?.removeEventListener("abort", cancel);
          // The consumer stopped early (client disconnected): stop the generation in the runner.
          if (!finished) call.cancel();
        }
      },
      async embed(params: EmbedParams, signal?: AbortSignal): Promise<Embeddings> {
        const proc = entry.process;
        if (!proc) throw new Error(`${entry.model.display} is not loaded`);
        signal?.throwIfAborted();
        const call = proc.request({ op: "embed", params });
        const cancel = () => call.cancel();
        signal?.addEventListener("abort", cancel, { once: true });
        try {
          let last: RunnerEvent | null = null;
          for await (const event of call.events) last = event;
          if (last?.type === "embeddings") return { embeddings: last.embeddings, promptTokens: last.promptTokens, promptNs: last.promptNs };
          if (last?.type === "done" && last.reason === "cancelled") throw new RequestCanceledError();
          throw new Error(`runner answered embed with ${last?.type ?? "nothing"}`);
        } finally {
          signal?.removeEventListener("abort", cancel);
        }
      },
      release() {
        if (released) return;
        released = true;
        releaseLane();
        scheduler.letGo(entry);
      },
    };
  }

  private letGo(entry: LoadedModel): void {
    if (this.models.get(entry.key) !== entry) {
      entry.refs = Math.max(0, entry.refs - 1); // already gone (failed load, eviction): nothing to expire
      return;
    }
    entry.letGo(() => {
      if (this.models.get(entry.key) === entry && entry.refs === 0) void this.evict(entry);
    });
    if (entry.refs === 0) this.notifyRoom();
  }

  private async evict(entry: LoadedModel): Promise<void> {
    if (this.models.get(entry.key) === entry) this.models.delete(entry.key);
    await entry.stop();
    this.notifyRoom();
  }

  private waitForRoom(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new RequestCanceledError());
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.roomWaiters = this.roomWaiters.filter((w) => w !== wake);
        reject(new RequestCanceledError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.roomWaiters.push(wake);
    });
  }

  private notifyRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  private async memoryOf(entry: LoadedModel): Promise<{ bytes: number; gpu: boolean }> {
    const proc = entry.process;
    if (!proc) return { bytes: 0, gpu: false };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.options.statsTimeoutMs)));
    try {
      const answer = await Promise.race([proc.call({ op: "stats" }).catch(() => null), timeout]);
      if (answer?.type !== "stats") return { bytes: 0, gpu: false };
      return { bytes: answer.stats.activeMemory + answer.stats.cacheMemory, gpu: answer.stats.device === "gpu" };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One runner per model name (case-insensitive, like Ollama's lookups); a copy under another name gets its own. */
function keyOf(model: StoredModel): string {
  return model.display.toLowerCase();
}
