// The server's side of a runner: one child process per loaded model that owns MLX on its main thread.
// Why a process and not a Worker: a native crash (SIGSEGV, OOM kill) in MLX must not take the API down,
// and ending the process on unload gives every byte back. See src/engine/runner.ts for the other side.
import type { Subprocess } from "bun";
import type { RunnerEvent, RunnerRequest } from "../engine/protocol.ts";
import { isTerminal } from "../engine/protocol.ts";
import { OllamaError } from "../api/errors.ts";
import { AsyncQueue } from "./async-queue.ts";
import { runnerEnv } from "../engine/cpu-backend.ts";

export type RunnerErrorKind = Extract<RunnerEvent, { type: "error" }>["kind"];

/**
 * The one mapping from a runner's failure to an HTTP status. Ollama's server passes a runner's own status through
 * (llm/server.go returns api.StatusError, routes.go sends {"error", "status"}) and answers anything else with a 500
 * and the message: a request the runner refused as the client's fault (RequestError: a prompt too long with
 * truncate false, a prompt that tokenizes to nothing) is a 400 unless it names its status; MLX's failures (out of
 * memory included), the runner's own errors and a runner that died are 500s with their message.
 */
export function runnerErrorStatus(kind: RunnerErrorKind | "crashed", status?: number): number {
  if (status !== undefined) return status;
  return kind === "request" ? 400 : 500;
}

/** The runner died (crash, kill, OOM) while a request was in flight, or did not start. */
export class RunnerCrashedError extends OllamaError {
  override name = "RunnerCrashedError";
  constructor(message: string) {
    super(runnerErrorStatus("crashed"), message);
  }
}

/** The runner answered a request with an error event; the runner itself keeps serving. */
export class RunnerRequestError extends OllamaError {
  override name = "RunnerRequestError";
  constructor(message: string, readonly kind: RunnerErrorKind, status?: number) {
    super(runnerErrorStatus(kind, status), message);
  }
}

type RequestBody = RunnerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export interface RunnerCall {
  readonly id: number;
  /** Every event up to and including the terminal one; an error event or a crash is thrown. */
  readonly events: AsyncIterable<RunnerEvent>;
  cancel(): void;
}

/** How to start a runner: this same program with the hidden `runner` command. */
export function runnerCommand(): string[] {
  const entry = Bun.main;
  // In a `bun build --compile` binary the entry lives in the embedded /$bunfs filesystem.
  if (entry.startsWith("/$bunfs") || entry.startsWith("B:/~BUN")) return [process.execPath, "runner"];
  return [process.execPath, new URL("../index.ts", import.meta.url).pathname, "runner"];
}

const READY_TIMEOUT_MS = 60_000;

/** One runner process for its whole life. After it exits it stays dead: `Runner` starts the next one. */
export class RunnerProcess {
  private proc: Subprocess<"ignore", "inherit", "inherit">;
  private nextId = 1;
  private inflight = new Map<number, AsyncQueue<RunnerEvent>>();
  private readyResolve!: (v: { pid: number; mlxVersion: string }) => void;
  private readyReject!: (e: Error) => void;
  readonly ready: Promise<{ pid: number; mlxVersion: string }>;
  readonly exited: Promise<number | null>;
  private dead = false;
  private exitReason = "";

  constructor(command: string[] = runnerCommand(), env: Record<string, string | undefined> = runnerEnv()) {
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.ready.catch(() => {}); // observed by callers that await it; never an unhandled rejection
    this.proc = Bun.spawn(command, {
      stdio: ["ignore", "inherit", "inherit"],
      env,
      // Structured clone, not JSON text: a quarter of the latency per message (tokens stream one message each).
      serialization: "advanced",
      ipc: (message) => this.onMessage(message as RunnerEvent),
    });
    const timer = setTimeout(() => this.readyReject(new RunnerCrashedError("runner did not start in time")), READY_TIMEOUT_MS);
    this.ready.finally(() => clearTimeout(timer)).catch(() => {});
    this.exited = this.proc.exited.then((code) => {
      this.dead = true;
      const signal = this.proc.signalCode;
      this.exitReason = signal ? `runner process was killed by ${signal}` : `runner process exited with code ${code}`;
      const err = new RunnerCrashedError(this.exitReason);
      this.readyReject(err);
      for (const q of this.inflight.values()) q.fail(err);
      this.inflight.clear();
      return code;
    });
  }

  get pid(): number {
    return this.proc.pid;
  }

  get alive(): boolean {
    return !this.dead;
  }

  private onMessage(event: RunnerEvent): void {
    if (event.type === "ready") {
      this.readyResolve({ pid: event.pid, mlxVersion: event.mlxVersion });
      return;
    }
    const q = this.inflight.get(event.id);
    if (!q) return; // a late event for a request whose consumer already went away
    if (event.type === "error") {
      this.inflight.delete(event.id);
      q.fail(new RunnerRequestError(event.message, event.kind, event.status));
      return;
    }
    q.push(event);
    if (isTerminal(event)) {
      this.inflight.delete(event.id);
      q.close();
    }
  }

  /** Sends a request; its events arrive on the returned call. Throws if the process is already dead. */
  request(body: RequestBody): RunnerCall {
    if (this.dead) throw new RunnerCrashedError(this.exitReason || "runner is not running");
    const id = this.nextId++;
    const queue = new AsyncQueue<RunnerEvent>();
    this.inflight.set(id, queue);
    this.proc.send({ ...body, id } as RunnerRequest);
    let cancelSent = false; // once: a second cancel could reach the runner after the request ended
    return {
      id,
      events: queue,
      cancel: () => {
        if (cancelSent || this.dead || !this.inflight.has(id)) return;
        cancelSent = true;
        this.proc.send({ op: "cancel", id: this.nextId++, target: id });
      },
    };
  }

  /** Sends a request and waits for its terminal event. */
  async call(body: RequestBody): Promise<RunnerEvent> {
    let last: RunnerEvent | null = null;
    for await (const e of this.request(body).events) last = e;
    if (!last) throw new RunnerCrashedError("runner ended the request without an answer");
    return last;
  }

  /** Asks the runner to exit (it frees everything by exiting); kills it if it does not within the grace period. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.dead) return;
    try {
      this.proc.send({ op: "unload", id: this.nextId++ });
    } catch {
      // the channel is already gone: the kill below ends it
    }
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.proc.kill(signal);
  }
}

/**
 * A runner slot that survives its process: a dead runner fails only its in-flight requests,
 * and the next request starts a fresh process.
 */
export class Runner {
  private current: RunnerProcess | null = null;
  restarts = 0;

  constructor(
    private readonly command: string[] = runnerCommand(),
    private readonly env: Record<string, string | undefined> = runnerEnv(),
  ) {}

  /** The live process, started (and waited for) if there is none. */
  async process(): Promise<RunnerProcess> {
    if (this.current && this.current.alive) return this.current;
    if (this.current) this.restarts++;
    const p = new RunnerProcess(this.command, this.env);
    this.current = p;
    await p.ready;
    return p;
  }

  get pid(): number | null {
    return this.current?.alive ? this.current.pid : null;
  }

  async stop(): Promise<void> {
    await this.current?.stop();
    this.current = null;
  }
}
