// A real `ollmlx serve` process killed with SIGKILL in the middle of a download: nothing gets to clean up, so what is
// on disk is all there is. After a restart the half-pulled model is not listed (neither by /api/tags nor by
// `ollmlx list`), and pulling again resumes with a Range request from exactly the bytes the killed server wrote.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { Store } from "../../src/store/store.ts";
import { freePort, ROOT, waitForVersion } from "../binary/dist.ts";
import { bytesOf, FakeHub, sha256, text } from "./fake-servers.ts";

const BUN = join(ROOT, "node_modules/.bin/bun");
const MODEL = "mlx-community/Slow-4bit";
const WEIGHTS = bytesOf(3_000_000, 41);
const DIGEST = `sha256:${sha256(WEIGHTS)}`;

let hub: FakeHub;
let root: string;
let store: Store;
const servers: Subprocess[] = [];

beforeAll(() => {
  hub = new FakeHub();
  hub.addRepo(MODEL, [
    { name: "config.json", bytes: text(JSON.stringify({ model_type: "qwen3" })) },
    { name: "tokenizer.json", bytes: text("{}") },
    { name: "model.safetensors", bytes: WEIGHTS, lfs: true },
  ]);
  root = mkdtempSync(join(tmpdir(), "ollmlx-sigkill-"));
  store = new Store(root);
});

afterAll(async () => {
  for (const s of servers) {
    if (s.exitCode === null && s.signalCode === null) s.kill("SIGTERM");
    await s.exited;
  }
  hub.stop();
  rmSync(root, { recursive: true, force: true });
});

function env(host: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(OLLAMA_|OLLMLX_MODELS|HF_)/.test(k)) out[k] = v;
  return { ...out, OLLAMA_HOST: host, OLLMLX_MODELS: root, HF_ENDPOINT: hub.endpoint };
}

async function startServe(host: string): Promise<Subprocess> {
  const proc = Bun.spawn([BUN, "src/index.ts", "serve"], { cwd: ROOT, env: env(host), stdout: "ignore", stderr: "ignore" });
  servers.push(proc);
  await waitForVersion(`http://${host}`, 60_000, 50);
  return proc;
}

function cliList(host: string): string {
  const run = Bun.spawnSync([BUN, "src/index.ts", "list"], { cwd: ROOT, env: env(host), stdout: "pipe", stderr: "pipe" });
  expect(run.exitCode).toBe(0);
  return run.stdout.toString();
}

async function tagNames(host: string): Promise<string[]> {
  const body = (await (await fetch(`http://${host}/api/tags`)).json()) as { models: { name: string }[] };
  return body.models.map((m) => m.name);
}

describe("SIGKILL during a pull", () => {
  test("the model is not listed after a restart, and the next pull resumes from the bytes on disk", async () => {
    const host = `127.0.0.1:${freePort()}`;
    // slow enough (about 4 s for 3 MB) to be killed in the middle even on a loaded machine
    hub.cdn.faults.set(sha256(WEIGHTS), { slow: { chunk: 16_384, delayMs: 20 } });
    const first = await startServe(host);
    const res = await fetch(`http://${host}/api/pull`, { method: "POST", body: JSON.stringify({ model: MODEL }) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    const partial = `${store.blobPath(DIGEST)}-partial`;
    // wait until the progress says a good part of the weights arrived and the partial file holds some of it
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the pull ended before it could be killed: ${seen}`);
      seen += decoder.decode(value, { stream: true });
      const completed = [...seen.matchAll(/"digest":"sha256:([0-9a-f]{64})","total":\d+,"completed":(\d+)/g)].filter((m) => `sha256:${m[1]}` === DIGEST);
      if (completed.length > 0 && Number(completed.at(-1)![2]) >= 300_000 && existsSync(partial) && statSync(partial).size > 0) break;
    }
    first.kill("SIGKILL");
    await first.exited;
    expect(first.signalCode).toBe("SIGKILL");
    reader.cancel().catch(() => {});

    const have = statSync(partial).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThan(WEIGHTS.length);
    expect(existsSync(store.blobPath(DIGEST))).toBe(false);

    // restarted: the half-pulled model is nowhere to be seen
    hub.cdn.faults.clear();
    await startServe(host);
    expect(await tagNames(host)).not.toContain(`${MODEL}:latest`);
    expect(cliList(host)).not.toContain("Slow-4bit");
    expect(statSync(partial).size).toBe(have);

    const requestsBefore = hub.cdn.log.length;
    const again = await fetch(`http://${host}/api/pull`, { method: "POST", body: JSON.stringify({ model: MODEL, stream: false }) });
    expect(await again.json()).toEqual({ status: "success" });
    const resumed = hub.cdn.log.slice(requestsBefore).filter((r) => r.path === `/lfs/${sha256(WEIGHTS)}`);
    expect(resumed.length).toBe(1);
    const offset = Number(/^bytes=(\d+)-$/.exec(resumed[0]!.range ?? "")?.[1]);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBe(have);

    expect(sha256(readFileSync(store.blobPath(DIGEST)))).toBe(DIGEST.slice(7));
    expect(existsSync(partial)).toBe(false);
    expect(await tagNames(host)).toContain(`${MODEL}:latest`);
    expect(cliList(host)).toContain(`${MODEL}:latest`);
  }, 120_000);
});
