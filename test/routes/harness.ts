// A real server on 127.0.0.1 (random port) over a temporary store holding the tiny model; runners are real
// processes running MLX.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Scheduler, schedulerOptionsFromEnv, type SchedulerOptions } from "../../src/scheduler/scheduler.ts";
import { createApp } from "../../src/server.ts";
import { Store } from "../../src/store/store.ts";
import { mlxConfigBlob } from "../../src/store/pull-hf.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";
import { TINY_CONFIG, tinyQwen3Dir } from "./fixtures/tiny-model.ts";

export const TINY = "tiny:latest";

export interface TestServer {
  url: string;
  store: Store;
  scheduler: Scheduler;
  close(): Promise<void>;
}

/** `empty`: a store with nothing in it (nothing to run until something is pulled or created). */
export async function startServer(options: Partial<SchedulerOptions> = {}, { empty = false } = {}): Promise<TestServer> {
  const root = mkdtempSync(join(tmpdir(), "ollmlx-routes-store-"));
  const store = new Store(root);
  if (!empty) await store.importMlxDir(TINY, tinyQwen3Dir(), TINY_CONFIG);
  const scheduler = new Scheduler(store, { ...schedulerOptionsFromEnv({}), ...options });
  const app = createApp({ store, scheduler });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${app.server!.port}`;
  return {
    url,
    store,
    scheduler,
    async close() {
      await app.stop(true);
      await scheduler.shutdown();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A server whose runners run MLX's own ops (OLLMLX_CPU_KERNELS=mlx, which they inherit: logits are mlx-lm's to the
 * bit), with the tiny seeded qwen3-f32 (test/fixtures/tiny-models.ts) stored as `base`; close() restores the setting.
 */
export async function startMlxOpsServer(base: string): Promise<TestServer & { baseDir: string }> {
  const kernels = process.env.OLLMLX_CPU_KERNELS;
  process.env.OLLMLX_CPU_KERNELS = "mlx";
  const server = await startServer();
  const baseDir = (await listTinyModels()).find((m) => m.name === "qwen3-f32")!.dir;
  await server.store.importMlxDir(base, baseDir, mlxConfigBlob(JSON.parse(readFileSync(join(baseDir, "config.json"), "utf8"))));
  return {
    ...server,
    baseDir,
    async close() {
      await server.close();
      if (kernels === undefined) delete process.env.OLLMLX_CPU_KERNELS;
      else process.env.OLLMLX_CPU_KERNELS = kernels;
    },
  };
}

/** Reads an NDJSON body into its objects, checking each line is one complete JSON value. */
export async function ndjson(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  if (!text.endsWith("\n")) throw new Error(`NDJSON body does not end with a newline: ${JSON.stringify(text.slice(-80))}`);
  return text.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
}

export function post(base: string, path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), ...init });
}
