// Deleting a model removes its manifest and those of its blobs no other manifest uses (Ollama's RemoveLayers):
// a blob shared with another model stays, and so do the finished blobs of a pull still running, which no manifest
// names yet.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { pullModel } from "../../src/store/pull.ts";
import { MEDIA } from "../../src/store/store.ts";
import { bytesOf, drain, FakeRegistry, sha256, text, tempStore } from "./fake-servers.ts";
import { partialSize } from "./store-checks.ts";

let registry: FakeRegistry;
let store: ReturnType<typeof tempStore>;

const SHARED = bytesOf(40_000, 61);
const ONLY_A = bytesOf(30_000, 62);
const ONLY_B = bytesOf(30_000, 63);
const config = (family: string) => text(JSON.stringify({ model_format: "gguf", model_family: family }));
const digest = (b: Uint8Array) => `sha256:${sha256(b)}`;

beforeEach(() => {
  registry = new FakeRegistry();
  store = tempStore();
  registry.publish("library/a", "latest", config("a"), [
    { mediaType: MEDIA.model, bytes: SHARED },
    { mediaType: MEDIA.license, bytes: ONLY_A },
  ]);
  registry.publish("library/b", "latest", config("b"), [
    { mediaType: MEDIA.model, bytes: SHARED },
    { mediaType: MEDIA.license, bytes: ONLY_B },
  ]);
});

afterEach(() => {
  registry.stop();
  store.cleanup();
});

const name = (model: string) => `${registry.host}/library/${model}`;
const pull = (model: string) => drain(pullModel(store, name(model), { insecure: true }));

describe("deleting a pulled model", () => {
  test("removes its own blobs and keeps the ones another model shares", async () => {
    expect((await pull("a")).error).toBeUndefined();
    expect((await pull("b")).error).toBeUndefined();
    store.delete(name("a"));
    expect(store.list().map((m) => m.display)).toEqual([`${name("b")}:latest`]);
    expect(existsSync(store.blobPath(digest(ONLY_A)))).toBe(false);
    expect(existsSync(store.blobPath(digest(config("a"))))).toBe(false);
    expect(existsSync(store.blobPath(digest(SHARED)))).toBe(true);
    expect(existsSync(store.blobPath(digest(ONLY_B)))).toBe(true);
    store.delete(name("b"));
    for (const b of [SHARED, ONLY_B, config("b")]) expect(existsSync(store.blobPath(digest(b)))).toBe(false);
    expect(store.list()).toEqual([]);
  });

  test("does not touch the finished blobs or the partial file of a pull still running", async () => {
    expect((await pull("a")).error).toBeUndefined();
    const done = bytesOf(20_000, 64);
    const slow = bytesOf(400_000, 65);
    registry.publish("library/c", "latest", config("c"), [
      { mediaType: MEDIA.model, bytes: slow },
      { mediaType: MEDIA.license, bytes: done },
    ]);
    registry.storage.faults.set(sha256(slow), { slow: { chunk: 10_000, delayMs: 10 } });
    const running = drain(pullModel(store, name("c"), { insecure: true }));
    for (let i = 0; i < 500 && !(store.hasBlob(digest(done)) && partialSize(store, digest(slow)) > 0); i++) await Bun.sleep(10);
    expect(store.hasBlob(digest(done))).toBe(true);
    expect(partialSize(store, digest(slow))).toBeGreaterThan(0);

    store.delete(name("a"));
    expect(store.hasBlob(digest(done))).toBe(true);
    const { error } = await running;
    expect(error).toBeUndefined();
    expect(store.list().map((m) => m.display)).toEqual([`${name("c")}:latest`]);
    expect(store.hasBlob(digest(slow))).toBe(true);
  });
});
