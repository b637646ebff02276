// The two servers under test, each a real process on a free port: `ollmlx serve` over a temporary store holding
// the MLX 4-bit directory, and mlx_lm.server on the same directory.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../src/store/store.ts";
import { mlxConfigBlob } from "../../src/store/pull-hf.ts";
import { freePort } from "../../test/binary/dist.ts";
import { ollamaClient, openaiClient, type Server } from "./clients.ts";
import { ROOT } from "./models.ts";
import { peakRssMiB, processTree } from "./proc.ts";

export interface RunningServer extends Server, ServerProcess {}

async function waitReady(url: string, proc: Bun.Subprocess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${url}: server exited with ${proc.exitCode} before answering`);
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** What a server process gives the bench besides its API: its memory high-water mark, and a clean stop. */
interface ServerProcess {
  /** the server's process id (its runners are its children) */
  pid: number;
  /** peak RSS of the busiest process in the server's tree (for ollmlx: its runner), MiB */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

function running(proc: Bun.Subprocess, cleanup: () => void): ServerProcess {
  let peak = 0;
  const sampleRss = () => {
    for (const pid of processTree(proc.pid)) peak = Math.max(peak, peakRssMiB(pid) || 0);
    return peak;
  };
  return {
    pid: proc.pid,
    peakRssMiB: sampleRss,
    async stop() {
      sampleRss();
      const tree = processTree(proc.pid);
      proc.kill("SIGTERM");
      const timer = setTimeout(() => tree.forEach((pid) => void safeKill(pid)), 10_000);
      await proc.exited;
      clearTimeout(timer);
      for (const pid of tree.slice(1)) safeKill(pid); // a runner left behind by a killed server
      cleanup();
    },
  };
}

function safeKill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export async function startOllmlx(modelDir: string, numCtx: number, env: Record<string, string | undefined>): Promise<RunningServer> {
  const config = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")) as Record<string, unknown>;
  const serve = await startOllmlxServe((store) => store.importMlxDir("bench:latest", modelDir, mlxConfigBlob(config)), env);
  return { ...serve, ...ollamaClient(serve.url, "bench", numCtx) };
}

/** `ollmlx serve` over a temporary store that `fill` puts the model(s) into; the caller talks HTTP to `url`. */
export async function startOllmlxServe(
  fill: (store: Store) => Promise<unknown>,
  env: Record<string, string | undefined>,
): Promise<ServerProcess & { url: string }> {
  const store = mkdtempSync(join(tmpdir(), "ollmlx-bench-store-"));
  await fill(new Store(store));
  const host = `127.0.0.1:${freePort()}`;
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/index.ts"), "serve"], {
    env: { ...env, OLLAMA_HOST: host, OLLMLX_MODELS: store, OLLAMA_KEEP_ALIVE: "1h" },
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://${host}`;
  await waitReady(`${url}/api/version`, proc, 30_000);
  return { url, ...running(proc, () => rmSync(store, { recursive: true, force: true })) };
}

export async function startMlxLmServer(modelDir: string, python: string, env: Record<string, string | undefined>): Promise<RunningServer> {
  const port = freePort();
  const proc = Bun.spawn([python, "-m", "mlx_lm.server", "--model", modelDir, "--host", "127.0.0.1", "--port", String(port), "--log-level", "WARNING"], {
    env,
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/health`, proc, 120_000);
  return { ...openaiClient(url), ...running(proc, () => {}) };
}
