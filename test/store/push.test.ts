// Pushing a model of the store (the real SmolLM2 GGUF) to a local registry that accepts uploads, and pulling it back
// into an empty store: same blobs byte for byte, same manifest. Plus Ollama's progress lines, skipped blobs, and the
// ways a push fails (registry error, refused token, bytes that do not match their digest, unknown model, http).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { Ollama } from "ollama";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { Scheduler, schedulerOptionsFromEnv } from "../../src/scheduler/scheduler.ts";
import { createApp } from "../../src/server.ts";
import { parseModelName } from "../../src/store/names.ts";
import { pullModel } from "../../src/store/pull.ts";
import { pushModel } from "../../src/store/push.ts";
import { partSize } from "../../src/store/upload.ts";
import { MEDIA, type Layer } from "../../src/store/store.ts";
import { drain, sha256, tempStore } from "./fake-servers.ts";
import { UploadRegistry } from "./fake-registry-upload.ts";

const GGUF = `${import.meta.dir}/../../.deps/models/smollm2-135m-instruct-q4_1.gguf`;
const LOCAL = "smol:q4";

let store: ReturnType<typeof tempStore>;
let registry: UploadRegistry;
let name: string;

beforeAll(async () => {
  store = tempStore();
  const params = store.writeBlob(JSON.stringify({ temperature: 0.3, stop: ["<|im_end|>"] }), MEDIA.params);
  await store.importGguf(LOCAL, GGUF, ggufConfigBlob(GGUF), [params]);
});

afterAll(() => store.cleanup());

beforeEach(() => {
  registry = new UploadRegistry();
  name = `${registry.host}/me/smol:q4`;
  store.copy(LOCAL, name);
});

afterEach(() => registry.stop());

const push = (model = name, insecure = true) => drain(pushModel(store, model, { insecure }));
const blobsOf = (m: { config: Layer; layers: Layer[] }) => [...m.layers, m.config];

describe("pushModel", () => {
  test("uploads every blob and the manifest as stored; a pull from the registry gets them back byte for byte", async () => {
    const { events, error } = await push();
    expect(error).toBeUndefined();
    const stored = readFileSync(store.manifestPath(parseModelName(name)));
    expect(Buffer.from(registry.manifests.get("me/smol:q4")!).equals(stored)).toBe(true);

    const second = tempStore();
    try {
      const pulled = await drain(pullModel(second, name, { insecure: true, env: {} }));
      expect(pulled.error).toBeUndefined();
      expect(readFileSync(second.manifestPath(parseModelName(name))).equals(stored)).toBe(true);
      const manifest = JSON.parse(stored.toString()) as { config: Layer; layers: Layer[] };
      expect(manifest.layers.length).toBe(2);
      for (const l of blobsOf(manifest)) {
        expect(readFileSync(second.blobPath(l.digest)).equals(readFileSync(store.blobPath(l.digest)))).toBe(true);
      }
    } finally {
      second.cleanup();
    }
    expect(events.at(-1)).toEqual({ status: "success" });
  });

  test("progress is Ollama's: retrieving manifest, pushing <digest[7:19]> per blob ending complete, pushing manifest, success", async () => {
    const { events, error } = await push();
    expect(error).toBeUndefined();
    const manifest = store.get(name).manifest;
    expect(events[0]).toEqual({ status: "retrieving manifest" });
    expect(events.slice(-2)).toEqual([{ status: "pushing manifest" }, { status: "success" }]);
    const layerEvents = events.slice(1, -2);
    // the layers first, then the config blob, each in one run of lines
    const order = [...new Set(layerEvents.map((e) => e.digest))];
    expect(order).toEqual(blobsOf(manifest).map((l) => l.digest));
    for (const l of blobsOf(manifest)) {
      const mine = layerEvents.filter((e) => e.digest === l.digest);
      for (const e of mine) {
        expect(Object.keys(e).sort()).toEqual(e.completed === undefined ? ["digest", "status", "total"] : ["completed", "digest", "status", "total"]);
        expect(e.status).toBe(`pushing ${l.digest.slice(7, 19)}`);
        expect(e.total).toBe(l.size);
      }
      const counts = mine.map((e) => e.completed ?? 0);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(counts.at(-1)).toBe(l.size);
    }
    // the 98 MB GGUF is one part (Ollama's parts are at least 100 MB): one PATCH per blob, one PUT to commit each
    expect(partSize(98_362_432)).toBe(100_000_000);
    const uploads = registry.uploadRequests();
    expect(uploads.filter((u) => u.method === "PATCH").length).toBe(3);
    expect(uploads.filter((u) => u.method === "PUT").length).toBe(3);
  });

  test("answers the bearer challenge: the token is fetched once and sent on every request after it", async () => {
    const { error } = await push();
    expect(error).toBeUndefined();
    const v2 = registry.log.filter((e) => e.path.startsWith("/v2/"));
    expect(v2[0]!.authorization).toBeNull();
    expect(registry.log.filter((e) => e.path === "/token").length).toBe(1);
    expect(v2.slice(1).every((e) => e.authorization === `Bearer ${registry.token}`)).toBe(true);
  });

  test("a second push sends no blob: each is reported once as complete, then the manifest", async () => {
    expect((await push()).error).toBeUndefined();
    const before = registry.uploadRequests().length;
    const { events, error } = await push();
    expect(error).toBeUndefined();
    expect(registry.uploadRequests().length).toBe(before);
    const manifest = store.get(name).manifest;
    expect(events).toEqual([
      { status: "retrieving manifest" },
      ...blobsOf(manifest).map((l) => ({ status: `pushing ${l.digest.slice(7, 19)}`, digest: l.digest, total: l.size, completed: l.size })),
      { status: "pushing manifest" },
      { status: "success" },
    ]);
  });

  test("a registry answering 500 to a blob's commit fails the push with its status and message, and no manifest is sent", async () => {
    registry.faults.blobPut = 500;
    const { events, error } = await push();
    expect(error?.message).toBe('500: {"errors":[{"code":"UNKNOWN","message":"storage backend unavailable"}]}');
    expect(events.some((e) => e.status === "pushing manifest")).toBe(false);
    expect(registry.manifests.size).toBe(0);
  });

  test("a registry refusing a part fails the push with Go's status line and the registry's body", async () => {
    registry.faults.patch = 503;
    const { error } = await push();
    expect(error?.message).toBe('http status 503 Service Unavailable: {"errors":[{"code":"UNKNOWN","message":"upload refused"}]}');
    expect(registry.manifests.size).toBe(0);
  });

  test("a registry that refuses the token fails with Ollama's unauthorized error", async () => {
    registry.faults.denyAll = true;
    const { error } = await push();
    expect(error?.message).toBe("unauthorized: access denied");
    expect(registry.manifests.size).toBe(0);
  });

  test("a blob whose bytes on disk no longer match its digest is refused by the registry (400 DIGEST_INVALID)", async () => {
    const small = tempStore();
    try {
      const params = small.writeBlob('{"temperature":0.5}', MEDIA.params);
      const model = small.writeBlob("not really a model", MEDIA.model);
      small.writeManifest(parseModelName(name), ggufConfigBlob(GGUF), [model, params]);
      writeFileSync(small.blobPath(params.digest), '{"temperature":0.9}');
      const { error } = await drain(pushModel(small, name, { insecure: true }));
      expect(error?.message).toContain("400: ");
      expect(error?.message).toContain("DIGEST_INVALID");
      expect(registry.blob("me/smol", params.digest)).toBeUndefined();
      expect(Buffer.from(registry.blob("me/smol", model.digest)!).toString()).toBe("not really a model");
    } finally {
      small.cleanup();
    }
  });

  test("an unknown model fails as Ollama's does: couldn't retrieve manifest, then the manifest file's open error", async () => {
    const missing = `${registry.host}/me/nothing:here`;
    const { events, error } = await push(missing);
    expect(events).toEqual([{ status: "retrieving manifest" }, { status: "couldn't retrieve manifest" }]);
    expect(error?.message).toBe(`open ${store.manifestPath(parseModelName(missing))}: no such file or directory`);
    expect(registry.log.length).toBe(0);
  });

  test("http:// without insecure is refused before any request; a name without a namespace on the default registry is unauthorized", async () => {
    const http = await push(`http://${name}`, false);
    expect(http.error?.message).toBe("insecure protocol http");
    store.copy(LOCAL, "smol-copy:q4");
    const library = await push("smol-copy:q4", false);
    expect(library.error?.message).toBe("unauthorized: access denied");
    expect(registry.log.length).toBe(0);
  });

  test("a blob over 100 MB goes up in Ollama's parts: contiguous Content-Ranges of 100 MB, then one commit", async () => {
    const big = tempStore();
    try {
      const model = big.writeBlob(Buffer.alloc(200_000_123).fill("ollmlx push parts "), MEDIA.model);
      big.writeManifest(parseModelName(name), ggufConfigBlob(GGUF), [model]);
      const { events, error } = await drain(pushModel(big, name, { insecure: true }));
      expect(error).toBeUndefined();
      const patches = registry.log.filter((e) => e.method === "PATCH").map((e) => e.contentRange);
      expect(patches).toEqual(["0-99999999", "100000000-199999999", "200000000-200000122", expect.stringMatching(/^0-\d+$/)]);
      expect(sha256(registry.blob("me/smol", model.digest)!)).toBe(model.digest.slice(7));
      const counts = events.filter((e) => e.digest === model.digest).map((e) => e.completed ?? 0);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(counts.at(-1)).toBe(model.size);
    } finally {
      big.cleanup();
    }
  });

  test("parts a registry redirects (307) go to its storage by PUT, without the registry's credentials", async () => {
    registry.faults.redirectParts = true;
    const { error } = await push();
    expect(error).toBeUndefined();
    const stored = registry.log.filter((e) => e.path.startsWith("/storage/"));
    expect(stored.length).toBe(3);
    expect(stored.every((e) => e.method === "PUT" && e.authorization === null)).toBe(true);
    for (const l of blobsOf(store.get(name).manifest)) {
      expect(Buffer.from(registry.blob("me/smol", l.digest)!).equals(readFileSync(store.blobPath(l.digest)))).toBe(true);
    }
  });

  test("a layer copied from another model of the registry is mounted from it, not uploaded", async () => {
    expect((await push()).error).toBeUndefined();
    const manifest = store.get(name).manifest;
    const copied = { ...manifest, layers: manifest.layers.map((l) => ({ ...l, from: name })) };
    const other = `${registry.host}/me/other:q4`;
    store.writeManifestBytes(parseModelName(other), new TextEncoder().encode(JSON.stringify(copied)));
    const before = registry.uploadRequests().length;
    const { events, error } = await push(other);
    expect(error).toBeUndefined();
    // only the config blob, which names no source, is sent: one PATCH and its commit
    expect(registry.uploadRequests().length).toBe(before + 2);
    const mounts = registry.log.filter((e) => e.method === "POST" && e.path === "/v2/me/other/blobs/uploads/");
    expect(mounts.length).toBe(3);
    for (const l of manifest.layers) expect(events).toContainEqual({ status: `pushing ${l.digest.slice(7, 19)}`, digest: l.digest, total: l.size, completed: l.size });
    expect(registry.manifests.has("me/other:q4")).toBe(true);
  });

  test("sha256 of what the registry holds is the digest it is stored under", async () => {
    expect((await push()).error).toBeUndefined();
    for (const [digest, bytes] of registry.blobs.get("me/smol")!) expect(sha256(bytes)).toBe(digest);
  });
});

describe("POST /api/push", () => {
  let server: ReturnType<typeof Bun.serve>;
  beforeEach(() => {
    const app = createApp({ store, scheduler: new Scheduler(store, schedulerOptionsFromEnv({})) });
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => app.handle(req) });
  });
  afterEach(() => server.stop(true));
  const post = (body: unknown) =>
    fetch(`http://127.0.0.1:${server.port}/api/push`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  test("streams NDJSON progress ending in success; `name` is accepted for `model`", async () => {
    const res = await post({ name, insecure: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await res.text()).trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ status: "retrieving manifest" });
    expect(lines.slice(-2)).toEqual([{ status: "pushing manifest" }, { status: "success" }]);
    expect(registry.manifests.has("me/smol:q4")).toBe(true);
  });

  test("stream:false answers only the last object", async () => {
    const res = await post({ model: name, insecure: true, stream: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "success" });
  });

  test("a failure after the stream began is its last line; with stream:false it is a 500", async () => {
    const missing = `${registry.host}/me/nothing`;
    const error = `open ${store.manifestPath(parseModelName(missing))}: no such file or directory`;
    const streamed = await post({ model: missing, insecure: true });
    expect(streamed.status).toBe(200);
    expect((await streamed.text()).trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual([
      { status: "retrieving manifest" },
      { status: "couldn't retrieve manifest" },
      { error },
    ]);
    const single = await post({ model: missing, insecure: true, stream: false });
    expect(single.status).toBe(500);
    expect(await single.json()).toEqual({ error });
  });

  test("the ollama JavaScript client pushes through it, streamed and not", async () => {
    const ollama = new Ollama({ host: `http://127.0.0.1:${server.port}` });
    const statuses: string[] = [];
    for await (const p of await ollama.push({ model: name, insecure: true, stream: true })) statuses.push(p.status);
    expect(statuses[0]).toBe("retrieving manifest");
    expect(statuses.slice(-2)).toEqual(["pushing manifest", "success"]);
    expect((await ollama.push({ model: name, insecure: true })).status).toBe("success");
  });

  test("a client that hangs up stops the push: the blob is not committed and no manifest is sent", async () => {
    let release = () => {};
    registry.faults.holdParts = new Promise<void>((resolve) => (release = resolve));
    const client = new AbortController();
    const res = await fetch(`http://127.0.0.1:${server.port}/api/push`, { method: "POST", body: JSON.stringify({ model: name, insecure: true }), signal: client.signal });
    expect(res.status).toBe(200);
    for (let i = 0; i < 1500 && !registry.log.some((e) => e.method === "PATCH"); i++) await Bun.sleep(20);
    client.abort();
    await Bun.sleep(300);
    release();
    await Bun.sleep(1000);
    expect(registry.log.filter((e) => e.method === "PATCH").length).toBe(1);
    expect(registry.uploadRequests().filter((e) => e.method === "PUT").length).toBe(0);
    expect(registry.manifests.size).toBe(0);
  });

  test("no model is a 400 \"model is required\"; a malformed name a 400 \"invalid model name\"", async () => {
    const none = await post({ insecure: true });
    expect(none.status).toBe(400);
    expect(await none.json()).toEqual({ error: "model is required" });
    const bad = await post({ model: "a/b/c/d" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "invalid model name" });
  });
});
