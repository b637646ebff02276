import { parseHost } from "../config/env.ts";
import { createApp } from "../server.ts";
import { VERSION } from "../version.ts";

export async function serve(_args: string[]): Promise<number> {
  const addr = parseHost(process.env.OLLAMA_HOST);
  const app = createApp();
  try {
    app.listen({ hostname: addr.host, port: addr.port });
  } catch (err) {
    console.error(`Error: listen tcp ${addr.host}:${addr.port}: ${err instanceof Error ? err.message : err}`);
    return 1;
  }
  console.error(`ollmlx ${VERSION} listening on ${addr.host}:${app.server?.port}`);
  const shutdown = async () => {
    await app.stop();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  return -1; // serve until a signal
}
