import { parseHost } from "../config/env.ts";
import { createApp, defaultContext } from "../server.ts";
import { VERSION } from "../version.ts";

export async function serve(_args: string[]): Promise<number> {
  const addr = parseHost(process.env.OLLAMA_HOST);
  const context = defaultContext();
  const app = createApp(context, { bindHost: addr.host });
  try {
    app.listen({ hostname: addr.host, port: addr.port });
  } catch (err) {
    console.error(`Error: listen tcp ${addr.host}:${addr.port}: ${err instanceof Error ? err.message : err}`);
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
