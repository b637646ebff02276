// `ollmlx serve`: the server on OLLAMA_HOST until SIGINT/SIGTERM.
import { OLLAMA_HOST } from "../config/settings.ts";
import { runnerEnv } from "../engine/cpu-backend.ts";
import { runnerCommand } from "../scheduler/runner-process.ts";
import { createApp, defaultContext } from "../server.ts";
import { VERSION } from "../version.ts";

export async function serve(_args: string[]): Promise<number> {
  const addr = OLLAMA_HOST.read();
  // The server never loads MLX (only its runners do), so a missing or broken MLX would otherwise surface at the
  // first request: a runner started for nothing but loading it says now what is wrong and how to fix it.
  const check = Bun.spawnSync([...runnerCommand(), "--check"], { env: runnerEnv(), stdout: "ignore", stderr: "pipe" });
  if (check.exitCode !== 0) {
    console.error(`Error: ${check.stderr.toString().trim() || `a runner could not start (exit ${check.exitCode})`}`);
    return 1;
  }
  const context = defaultContext();
  const app = createApp(context, { bindHost: addr.host });
  try {
    // Elysia turns SO_REUSEPORT on by default: a second serve would then share the port silently instead of
    // failing as Ollama's does ("address already in use").
    app.listen({ hostname: addr.host, port: addr.port, reusePort: false });
  } catch (err) {
    // Go's net error text for the common case, as Ollama prints it; anything else as Bun said it
    const code = (err as { code?: unknown }).code;
    const reason = code === "EADDRINUSE" ? "bind: address already in use" : err instanceof Error ? err.message : String(err);
    console.error(`Error: listen tcp ${addr.host}:${addr.port}: ${reason}`);
    return 1;
  }
  console.error(`ollmlx ${VERSION} listening on ${addr.host}:${app.server?.port}`);
  let stopping = false;
  // SIGINT/SIGTERM: stop taking requests, then end every runner (each gives its memory back by exiting).
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await app.stop(true).catch(() => {});
    await context.scheduler.shutdown();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  return -1; // serve until a signal
}
