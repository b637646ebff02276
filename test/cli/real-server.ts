// What the CLI tests talk to: the real server (test/routes/harness.ts: real runner processes, real MLX, the tiny
// random-weight qwen3 as tiny:latest) behind a wiretap that records what the CLI sent, plus models made from tiny
// with /api/create, as a user would with a Modelfile; and a real server over an empty store, for pulls.
import { post, startServer, type TestServer } from "../routes/harness.ts";
import { wiretap, type Wiretap } from "./wiretap.ts";

export interface CliServer {
  server: TestServer;
  tap: Wiretap;
  /** where the CLI's OLLAMA_HOST points: the wiretap in front of the server */
  host: string;
  /** POST /api/create straight to the server; throws unless it ends in success */
  create(model: string, request: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/**
 * `short:latest` answers 8 tokens (quick turns); tiny:latest has no limit but its context (4096 tokens, ~15 s on
 * this machine): the model to cancel mid-answer.
 */
export const SHORT = "short";

export async function startCliServer(): Promise<CliServer> {
  const server = await startServer();
  const tap = wiretap(server.url);
  const create = async (model: string, request: Record<string, unknown>) => {
    const res = await post(server.url, "/api/create", { model, stream: false, ...request });
    const body = await res.text();
    if (!res.ok || !body.includes('"success"')) throw new Error(`creating ${model} failed: ${res.status} ${body}`);
  };
  await create(SHORT, { from: "tiny", parameters: { num_predict: 8, seed: 3 } });
  return {
    server,
    tap,
    host: tap.url,
    create,
    async close() {
      tap.close();
      await server.close();
    },
  };
}

/** A real server over an empty store (nothing to run until something is pulled or created). */
export function startEmptyServer(): Promise<TestServer> {
  return startServer({}, { empty: true });
}
