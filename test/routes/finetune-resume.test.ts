// /api/finetune's training options on a real server, on the tiny qwen3-f32: gradient accumulation and mlx-lm's
// learning-rate schedules (each progress line's rate is what mlx's optimizer on build_schedule's schedule reports),
// a run cancelled by its client and resumed from its checkpoint to the adapter an uninterrupted run makes, to the
// byte, and the 400s of requests that cannot run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { MEDIA } from "../../src/store/store.ts";
import { runOracle } from "../oracle.ts";
import { ndjson, post, startMlxOpsServer, type TestServer } from "./harness.ts";

const BASE = "tiny-qwen3-f32";
let server: TestServer;
beforeAll(async () => {
  server = await startMlxOpsServer(BASE);
});
afterAll(() => server.close());

const ROWS = [
  { text: "The capital of Zorbania is Quillfast." },
  { text: "Zorbania's capital city is called Quillfast." },
  { prompt: "What is the capital of Zorbania?", completion: "Quillfast." },
  { messages: [{ role: "user", content: "Name the capital of Zorbania." }, { role: "assistant", content: "Quillfast is the capital." }] },
  { text: "Quillfast lies on the river Orb." },
];
const SCHEDULE = { name: "cosine_decay", arguments: [2e-2, 4, 1e-3], warmup: 2, warmup_init: 1e-3 };
const PARAMETERS = { iters: 30, batch_size: 2, rank: 4, num_layers: 2, seed: 3, grad_accumulation_steps: 3, lr_schedule: SCHEDULE, save_every: 0 };

const adapterDigest = (name: string) =>
  server.store
    .list()
    .find((m) => m.display === `${name}:latest`)
    ?.manifest.layers.find((l) => l.mediaType === MEDIA.adapter && l.name === "adapter/adapters.safetensors")?.digest;

/** The uninterrupted run (the first test's; trained here when that test did not run). */
async function straight(): Promise<Record<string, unknown>[]> {
  const r = await post(server.url, "/api/finetune", { model: "straight", from: BASE, data: ROWS, parameters: PARAMETERS });
  expect(r.status).toBe(200);
  return ndjson(r);
}
const runFolders = () => readdirSync(join(server.store.root, ".ollmlx-train")).filter((f) => f.startsWith("run-"));

describe("/api/finetune: accumulation, schedules, checkpoints", () => {
  test("each iteration's learning_rate is mlx-lm's schedule, stepped once per accumulated update", async () => {
    const lines = await straight();
    expect(lines.at(-1)).toEqual({ status: "success" });
    const rates = lines.filter((l) => l.status === "training").map((l) => l.learning_rate);
    const want = runOracle<number[]>(
      `import json, sys
import mlx.core as mx
import mlx.optimizers as optim
from mlx_lm.tuner.utils import build_schedule
req = json.load(sys.stdin)
opt = optim.Adam(learning_rate=build_schedule(req["schedule"]))
rates = []
for it in range(1, req["iters"] + 1):
    if it % req["accumulation"] == 0:
        opt.apply_gradients({"w": mx.ones(1)}, {"w": mx.zeros(1)})
    rates.append(opt.learning_rate.item())
print(json.dumps(rates))`,
      { schedule: SCHEDULE, iters: PARAMETERS.iters, accumulation: PARAMETERS.grad_accumulation_steps },
    );
    expect(rates).toEqual(want);
    expect(new Set(rates).size).toBeGreaterThan(4); // warmup, decay and the floor all show
  });

  test("a run its client hangs up on resumes from its checkpoint to the same adapter, byte for byte", async () => {
    const controller = new AbortController();
    const r = await post(server.url, "/api/finetune", { model: "resumed", from: BASE, data: ROWS, parameters: PARAMETERS }, { signal: controller.signal });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    let seen = "";
    while (!seen.includes('"completed":7,')) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && runFolders().length > 0) await Bun.sleep(100);
    expect(server.store.list().some((m) => m.display.startsWith("resumed"))).toBe(false);

    // the rows and parameters may be repeated; the checkpoint's own are used either way
    const again = await post(server.url, "/api/finetune", { model: "resumed", resume: true, data: ROWS, parameters: { seed: 3 } });
    expect(again.status).toBe(200);
    const lines = await ndjson(again);
    const resuming = lines.find((l) => l.status === "resuming")!;
    const at = resuming.completed as number;
    expect(at).toBeGreaterThanOrEqual(7);
    expect(at).toBeLessThan(PARAMETERS.iters);
    const training = lines.filter((l) => l.status === "training").map((l) => l.completed);
    expect(training).toEqual(Array.from({ length: PARAMETERS.iters - at }, (_, i) => at + 1 + i));
    expect(lines.at(-1)).toEqual({ status: "success" });
    if (!adapterDigest("straight")) await straight();
    expect(adapterDigest("resumed")).toBe(adapterDigest("straight")!);
    // done: nothing is left to resume
    expect(readdirSync(join(server.store.root, ".ollmlx-train", "checkpoints"))).toEqual([]);
    const none = await post(server.url, "/api/finetune", { model: "resumed", resume: true });
    expect(none.status).toBe(400);
  });

  test("requests that cannot run are 400s that say why", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ model: "x", resume: true }, "no checkpoint to resume for 'x'"],
      [{ model: "x", data: ROWS }, '"from" is required'],
      [{ model: "x", from: BASE, data: ROWS, parameters: { lr_schedule: { name: "cosine_decay", arguments: [1e-3, 0] } } }, "lr_schedule: cosine_decay's decay_steps must be a whole number"],
      [{ model: "x", from: BASE, data: ROWS, parameters: { lr_schedule: { name: "cosine_decay", arguments: [2, 10] } } }, "lr_schedule: the initial rate (arguments[0]) must be in (0, 1]"],
      [{ model: "x", from: BASE, data: ROWS, parameters: { lr_schedule: { name: "linear_schedule", arguments: [1e-3, 10] } } }, "lr_schedule: linear_schedule takes arguments [init, end, steps]"],
      [{ model: "x", from: BASE, data: ROWS, parameters: { warmup: 5, lr_schedule: { name: "cosine_decay", arguments: [1e-3, 10] } } }, "give either warmup or lr_schedule"],
      [{ model: "x", from: BASE, data: ROWS, parameters: { iters: 4, grad_accumulation_steps: 8 } }, "grad_accumulation_steps (8) is more than iters (4)"],
      [{ model: "x", from: BASE, data: ROWS, parameters: { grad_accumulation_steps: 0 } }, ""],
      [{ model: "x", from: BASE, data: ROWS, parameters: { lr_schedule: { name: "sqrt_decay", arguments: [1e-3, 10] } } }, ""],
      [{ model: "x", from: BASE, data: ROWS, parameters: { save_every: -1 } }, ""],
    ];
    for (const [body, message] of cases) {
      const r = await post(server.url, "/api/finetune", body);
      const error = String(((await r.json()) as { error?: string }).error ?? "");
      expect({ body, status: r.status, error: error.slice(0, message.length) }).toEqual({ body, status: 400, error: message });
    }

    // a resume that changes the run, and a second run of a name already training
    const controller = new AbortController();
    const r = await post(server.url, "/api/finetune", { model: "busy", from: BASE, data: ROWS, parameters: { ...PARAMETERS, iters: 100000 } }, { signal: controller.signal });
    const reader = r.body!.getReader();
    let seen = "";
    while (!seen.includes('"status":"training"')) seen += new TextDecoder().decode((await reader.read()).value);
    const twice = await post(server.url, "/api/finetune", { model: "busy", from: BASE, data: ROWS });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: string }).error).toBe("a fine-tuning run of 'busy' is already in progress");
    controller.abort();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && runFolders().length > 0) await Bun.sleep(100);
    const changed: [Record<string, unknown>, string][] = [
      [{ model: "busy", resume: true, parameters: { rank: 8 } }, "resume continues the run with its own parameters: rank was 4, not 8"],
      [{ model: "busy", resume: true, data: ROWS.slice(1) }, "resume continues the run on its own rows: these differ"],
      [{ model: "busy", resume: true, from: "no-such-model" }, "model 'no-such-model' not found"],
    ];
    for (const [body, message] of changed) {
      const c = await post(server.url, "/api/finetune", body);
      expect({ status: c.status, error: ((await c.json()) as { error: string }).error }).toEqual({ status: message.includes("not found") ? 404 : 400, error: message });
    }
  });
});
