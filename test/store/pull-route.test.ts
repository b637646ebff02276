// POST /api/pull over HTTP: NDJSON progress, stream:false, errors as Ollama sends them, and a client that hangs up
// stopping the download, leaving a partial file that the next pull resumes.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { pullRoutes } from "../../src/routes/pull.ts";
import { Scheduler, schedulerOptionsFromEnv } from "../../src/scheduler/scheduler.ts";
import { createApp } from "../../src/server.ts";
import { bytesOf, FakeHub, sha256, text, tempStore } from "./fake-servers.ts";

let hub: FakeHub;
let store: ReturnType<typeof tempStore>;
let server: ReturnType<typeof Bun.serve>;
const WEIGHTS = bytesOf(400_000, 3);

beforeEach(() => {
  hub = new FakeHub();
  hub.addRepo("mlx-community/Tiny-4bit", [
    { name: "config.json", bytes: text(JSON.stringify({ model_type: "qwen3" })) },
    { name: "tokenizer.json", bytes: text("{}") },
    { name: "model.safetensors", bytes: WEIGHTS, lfs: true },
  ]);
  store = tempStore();
  // the real app (its body parsing and error mapping) with the pull routes pointed at the fake Hub
  const app = createApp({ store, scheduler: new Scheduler(store, schedulerOptionsFromEnv({})) }).use(pullRoutes({ store }, { env: { HF_ENDPOINT: hub.endpoint } }));
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => app.handle(req) });
});

afterEach(() => {
  server.stop(true);
  hub.stop();
  store.cleanup();
});

const post = (body: unknown, signal?: AbortSignal) =>
  fetch(`http://127.0.0.1:${server.port}/api/pull`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });

describe("POST /api/pull", () => {
  test("streams NDJSON progress objects ending in success", async () => {
    const res = await post({ model: "mlx-community/Tiny-4bit" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as { status: string });
    expect(lines[0]).toEqual({ status: "pulling manifest" });
    expect(lines.at(-1)).toEqual({ status: "success" });
    expect(store.list().map((m) => m.display)).toEqual(["mlx-community/Tiny-4bit:latest"]);
  });

  test("stream:false answers only the last object", async () => {
    const res = await post({ model: "mlx-community/Tiny-4bit", stream: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "success" });
  });

  test("stream:false with a refused model answers the error alone, 400", async () => {
    hub.addRepo("mlx-community/Rwkv", [
      { name: "config.json", bytes: text(JSON.stringify({ model_type: "rwkv" })) },
      { name: "model.safetensors", bytes: WEIGHTS, lfs: true },
    ]);
    const res = await post({ model: "mlx-community/Rwkv", stream: false });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toStartWith('hf.co/mlx-community/Rwkv: model architecture "rwkv" is not supported by ollmlx');
  });

  test("an invalid name is 400 invalid model name; a failure mid-stream is a final error line", async () => {
    const bad = await post({ model: "a/b/c/d" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "invalid model name" });
    const missing = await post({ model: "hf.co/mlx-community/Missing" });
    const lines = (await missing.text()).trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines[0]).toEqual({ status: "pulling manifest" });
    expect(lines.at(-1)!.error).toContain("pull model manifest:");
  });

  test("a client that hangs up stops the download, leaves a resumable partial file and no model", async () => {
    hub.cdn.faults.set(sha256(WEIGHTS), { slow: { chunk: 10_000, delayMs: 15 } });
    const controller = new AbortController();
    const res = await post({ model: "mlx-community/Tiny-4bit" }, controller.signal);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!seen.includes(`"completed":`) || !/"completed":[1-9]\d{4}/.test(seen)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value);
    }
    controller.abort();
    // the download stops: the CDN sees its body cancelled and the partial file stops growing
    for (let i = 0; i < 100 && hub.cdn.cancelled === 0; i++) await Bun.sleep(10);
    expect(hub.cdn.cancelled).toBe(1);
    const partial = `${store.blobPath(`sha256:${sha256(WEIGHTS)}`)}-partial`;
    const have = statSync(partial).size;
    await Bun.sleep(100);
    expect(statSync(partial).size).toBe(have);
    expect(have).toBeLessThan(WEIGHTS.length);
    expect(store.list()).toEqual([]);

    hub.cdn.faults.clear();
    const again = await post({ model: "mlx-community/Tiny-4bit", stream: false });
    expect(await again.json()).toEqual({ status: "success" });
    expect(hub.cdn.log.at(-1)!.range).toBe(`bytes=${have}-`);
    expect(existsSync(partial)).toBe(false);
    expect(store.list().length).toBe(1);
  });
});
