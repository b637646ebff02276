// A pull against servers that misbehave: a flipped byte, a body longer or shorter than listed, a 500 before the body,
// a connection broken mid-stream, a connection that stalls, 429/503 "come back later". Each pull either succeeds
// with verified bytes or fails with an error that says what happened; nothing corrupt is stored and nothing
// half-installed is listed.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { MAX_RETRIES } from "../../src/store/pull-http.ts";
import { pullModel } from "../../src/store/pull.ts";
import { MEDIA } from "../../src/store/store.ts";
import { bytesOf, drain, FakeHub, FakeRegistry, sha256, text, tempStore } from "./fake-servers.ts";
import { expectNothingInstalled, partialSize } from "./store-checks.ts";

const WEIGHTS = bytesOf(300_000, 21);
const WEIGHTS_DIGEST = `sha256:${sha256(WEIGHTS)}`;
const REPO = "mlx-community/Tiny-4bit";

let hub: FakeHub;
let store: ReturnType<typeof tempStore>;
let env: Record<string, string>;

beforeEach(() => {
  hub = new FakeHub();
  hub.addRepo(REPO, [
    { name: "config.json", bytes: text(JSON.stringify({ model_type: "qwen3" })) },
    { name: "tokenizer.json", bytes: text("{}") },
    { name: "model.safetensors", bytes: WEIGHTS, lfs: true },
  ]);
  store = tempStore();
  // no resume within the pull, so that each fault shows in the pull's result (the last describe turns it back on)
  env = { HF_ENDPOINT: hub.endpoint, OLLMLX_PULL_STALL_TIMEOUT: "400ms", OLLMLX_PULL_RETRIES: "0" };
});

afterEach(() => {
  hub.stop();
  store.cleanup();
});

const pull = () => drain(pullModel(store, REPO, { env }));
const weightRequests = () => hub.cdn.log.filter((r) => r.path === `/lfs/${sha256(WEIGHTS)}`);

/** A second pull, the server healed, installs the model with the exact bytes. */
async function expectRecovers(): Promise<void> {
  hub.cdn.faults.clear();
  const again = await pull();
  expect(again.error).toBeUndefined();
  expect(again.events.at(-1)).toEqual({ status: "success" });
  expect(new Uint8Array(readFileSync(store.blobPath(WEIGHTS_DIGEST)))).toEqual(WEIGHTS);
  expect(existsSync(`${store.blobPath(WEIGHTS_DIGEST)}-partial`)).toBe(false);
}

describe("pull faults", () => {
  test("one flipped byte is a digest mismatch: no blob, no partial file, nothing listed", async () => {
    const flipped = WEIGHTS.slice();
    flipped[123_456]! ^= 0x01;
    hub.cdn.faults.set(sha256(WEIGHTS), { corrupt: flipped });
    const { error } = await pull();
    expect(error?.message).toStartWith(`digest mismatch, file must be downloaded again: want ${WEIGHTS_DIGEST}, got sha256:`);
    expect(expectNothingInstalled(store)).toEqual([]);
    expect(partialSize(store, WEIGHTS_DIGEST)).toBe(0);
    await expectRecovers();
  });

  test("a body announced shorter or longer than the listed size is refused before a byte is written", async () => {
    for (const length of [WEIGHTS.length - 1000, WEIGHTS.length + 1000]) {
      hub.cdn.faults.set(sha256(WEIGHTS), { length });
      const { error } = await pull();
      expect(error?.message).toContain(`the server sends ${length} bytes, ${WEIGHTS_DIGEST} has ${WEIGHTS.length}`);
      expect(expectNothingInstalled(store)).toEqual([]);
      expect(existsSync(`${store.blobPath(WEIGHTS_DIGEST)}-partial`)).toBe(false);
    }
    await expectRecovers();
  });

  test("a chunked body that ends short is an unexpected EOF; the partial file is resumed with Range", async () => {
    hub.cdn.faults.set(sha256(WEIGHTS), { length: 200_000, chunked: true });
    const { error } = await pull();
    expect(error?.message).toContain(`unexpected EOF after 200000 of ${WEIGHTS.length} bytes`);
    expect(expectNothingInstalled(store)).toEqual([]);
    expect(partialSize(store, WEIGHTS_DIGEST)).toBe(200_000);
    await expectRecovers();
    expect(weightRequests().map((r) => r.range)).toEqual([null, "bytes=200000-"]);
  });

  test("a chunked body with more bytes than listed is cut off at the listed size and never installed", async () => {
    hub.cdn.faults.set(sha256(WEIGHTS), { length: WEIGHTS.length + 50_000, chunked: true });
    const { error } = await pull();
    expect(error?.message).toContain(`more than the ${WEIGHTS.length} bytes expected`);
    expect(expectNothingInstalled(store)).toEqual([]);
    expect(partialSize(store, WEIGHTS_DIGEST)).toBeLessThanOrEqual(WEIGHTS.length);
    await expectRecovers();
  });

  test("a 500 before the body fails the pull with the status and the server's words, without retrying", async () => {
    hub.cdn.faults.set(sha256(WEIGHTS), { status: { code: 500 } });
    const { error } = await pull();
    expect(error?.message).toBe(`Get "${hub.endpoint}/${REPO}/resolve/${hub.commit}/model.safetensors": 500 Internal Server Error: fake failure 500`);
    expect(weightRequests().length).toBe(1);
    expect(expectNothingInstalled(store)).toEqual([]);
    await expectRecovers();
  });

  test("a server that breaks the connection mid-stream fails the pull naming the URL; the next pull resumes", async () => {
    hub.cdn.faults.set(sha256(WEIGHTS), { resetAfter: 100_000 });
    const { error } = await pull();
    // named by the URL asked for or the CDN one it redirected to, whichever the connection broke on
    expect(error?.message).toMatch(/^Get "http:\/\/127\.0\.0\.1:\d+\S*(model\.safetensors|\/lfs\/[0-9a-f]{64}\S*)": \S/);
    expect(expectNothingInstalled(store)).toEqual([]);
    const have = partialSize(store, WEIGHTS_DIGEST);
    expect(have).toBeLessThanOrEqual(100_000);
    await expectRecovers();
    expect(weightRequests().at(-1)!.range).toBe(have > 0 ? `bytes=${have}-` : null);
  });

  test("a connection that stalls after its headers is given up after OLLMLX_PULL_STALL_TIMEOUT; the bytes so far are kept", async () => {
    hub.cdn.faults.set(sha256(WEIGHTS), { stallAfter: 50_000 });
    const started = performance.now();
    const { error } = await pull();
    const elapsed = performance.now() - started;
    expect(error?.message).toContain("the download stalled: nothing received for 0.4s (OLLMLX_PULL_STALL_TIMEOUT)");
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(20_000);
    expect(expectNothingInstalled(store)).toEqual([]);
    expect(partialSize(store, WEIGHTS_DIGEST)).toBe(50_000);
    // the stalled connection is closed, not left hanging
    for (let i = 0; i < 200 && hub.cdn.cancelled === 0; i++) await Bun.sleep(10);
    expect(hub.cdn.cancelled).toBeGreaterThan(0);
    await expectRecovers();
    expect(weightRequests().at(-1)!.range).toBe("bytes=50000-");
  });

  test("a server that never answers is given up after the stall timeout with a clear error", async () => {
    const silent = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      const { error } = await drain(pullModel(store, REPO, { env: { ...env, HF_ENDPOINT: `http://127.0.0.1:${silent.port}` } }));
      expect(error?.message).toContain("the response stalled: nothing received for 0.4s");
      expect(expectNothingInstalled(store)).toEqual([]);
    } finally {
      silent.stop(true);
    }
  });

  test("429 and 503 with Retry-After are retried, on the listing and on a file, and the pull succeeds", async () => {
    hub.apiFault = { status: { code: 503, retryAfter: "0", times: 1 } };
    hub.cdn.faults.set(sha256(WEIGHTS), { status: { code: 429, retryAfter: "0", times: 2 } });
    const { error, events } = await pull();
    expect(error).toBeUndefined();
    expect(events.at(-1)).toEqual({ status: "success" });
    expect(hub.log.filter((r) => r.path.startsWith("/api/models/")).length).toBe(2);
    expect(weightRequests().length).toBe(3);
    expect(store.list().map((m) => m.display)).toEqual([`${REPO}:latest`]);
  });

  test("a 503 that persists fails after the retries; a Retry-After over a minute is not waited for", async () => {
    hub.cdn.faults.set(sha256(WEIGHTS), { status: { code: 503, retryAfter: "0" } });
    const first = await pull();
    expect(first.error?.message).toContain(": 503 Service Unavailable: fake failure 503");
    expect(weightRequests().length).toBe(1 + MAX_RETRIES);
    expect(expectNothingInstalled(store)).toEqual([]);

    hub.cdn.faults.set(sha256(WEIGHTS), { status: { code: 429, retryAfter: "3600" } });
    const started = performance.now();
    const second = await pull();
    expect(second.error?.message).toContain(": 429 Too Many Requests: fake failure 429");
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(weightRequests().length).toBe(2 + MAX_RETRIES);
    await expectRecovers();
  });
});

describe("a break in the network is resumed within the pull (OLLMLX_PULL_RETRIES)", () => {
  test("a dropped connection, a reset and a stall, once each, are resumed with Range and the pull succeeds", async () => {
    const retrying = { ...env, OLLMLX_PULL_RETRIES: "3" };
    for (const fault of [{ dropAfter: 100_000 }, { resetAfter: 100_000, times: 1 }, { stallAfter: 100_000, times: 1 }]) {
      hub.cdn.faults.set(sha256(WEIGHTS), fault);
      const before = weightRequests().length;
      const { error, events } = await drain(pullModel(store, REPO, { env: retrying }));
      expect(error).toBeUndefined();
      expect(events.at(-1)).toEqual({ status: "success" });
      const ranges = weightRequests().slice(before).map((r) => r.range);
      expect(ranges.length).toBe(2);
      // the second request picks up where the bytes on disk end (a reset may lose what was in flight)
      expect(ranges[1] === null || /^bytes=\d+-$/.test(ranges[1]!)).toBe(true);
      if (fault.dropAfter || fault.stallAfter) expect(ranges[1]).toBe("bytes=100000-");
      expect(new Uint8Array(readFileSync(store.blobPath(WEIGHTS_DIGEST)))).toEqual(WEIGHTS);
      store.delete(`${REPO}:latest`);
    }
  });

  test("a listing whose connection stalls once, and weights whose connection breaks at once, are fetched again", async () => {
    hub.apiFault = { stallAfter: 10, times: 1 };
    hub.cdn.faults.set(sha256(WEIGHTS), { resetAfter: 0, times: 1 });
    const { error } = await drain(pullModel(store, REPO, { env: { ...env, OLLMLX_PULL_RETRIES: "1" } }));
    expect(error).toBeUndefined();
    expect(hub.log.filter((r) => r.path.startsWith("/api/models/")).length).toBe(2);
    expect(store.list().map((m) => m.display)).toEqual([`${REPO}:latest`]);
  });

  test("a break that persists fails after the retries, keeping what arrived for the next pull", async () => {
    // every response is cut after 50 000 bytes: each attempt gets a little further, then the retries run out
    hub.cdn.faults.set(sha256(WEIGHTS), { dropAfter: 50_000, times: 10 });
    const { error } = await drain(pullModel(store, REPO, { env: { ...env, OLLMLX_PULL_RETRIES: "2" } }));
    expect(error?.message).toContain(`unexpected EOF after 150000 of ${WEIGHTS.length} bytes`);
    expect(weightRequests().map((r) => r.range)).toEqual([null, "bytes=50000-", "bytes=100000-"]);
    expect(expectNothingInstalled(store)).toEqual([]);
    expect(partialSize(store, WEIGHTS_DIGEST)).toBe(150_000);
    await expectRecovers();
    expect(weightRequests().at(-1)!.range).toBe("bytes=150000-");
  });
});

describe("pull faults from an Ollama registry", () => {
  test("a flipped byte in a layer and a 503 storm on another leave no model and no corrupt blob", async () => {
    const registry = new FakeRegistry();
    try {
      const model = bytesOf(120_000, 5);
      const template = text("{{ .Prompt }}");
      const config = text(JSON.stringify({ model_format: "gguf", model_family: "llama" }));
      registry.publish("library/tiny", "latest", config, [
        { mediaType: MEDIA.model, bytes: model },
        { mediaType: MEDIA.template, bytes: template },
      ]);
      const flipped = model.slice();
      flipped[0]! ^= 0x80;
      registry.storage.faults.set(sha256(model), { corrupt: flipped });
      registry.storage.faults.set(sha256(template), { status: { code: 503, retryAfter: "0" } });
      const name = `${registry.host}/library/tiny`;
      const { error } = await drain(pullModel(store, name, { insecure: true, env: { OLLMLX_PULL_STALL_TIMEOUT: "2s" } }));
      expect(error?.message).toMatch(/digest mismatch|503 Service Unavailable/);
      expect(expectNothingInstalled(store)).toEqual([]);

      registry.storage.faults.clear();
      const again = await drain(pullModel(store, name, { insecure: true }));
      expect(again.error).toBeUndefined();
      expect(new Uint8Array(readFileSync(store.blobPath(`sha256:${sha256(model)}`)))).toEqual(model);
      expect(store.list().length).toBe(1);
    } finally {
      registry.stop();
    }
  });
});
