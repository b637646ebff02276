// Pulls from a local fake Ollama registry (Docker Registry v2): token challenge, blobs redirected to storage, resume,
// digest mismatch, cached layers, the manifest stored byte for byte, and Ollama's error strings.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { pullModel } from "../../src/store/pull.ts";
import { MEDIA } from "../../src/store/store.ts";
import { bytesOf, drain, FakeRegistry, sha256, text, tempStore, tinyGguf } from "./fake-servers.ts";

let registry: FakeRegistry;
let store: ReturnType<typeof tempStore>;

const GGUF = tinyGguf(15);
const BIG = bytesOf(200_000, 11);
const CONFIG = text(JSON.stringify({ model_format: "gguf", model_family: "llama", model_families: ["llama"], model_type: "16", file_type: "Q4_K_M" }));

function publishTiny(tag = "latest", model: Uint8Array = GGUF) {
  return registry.publish("library/tiny", tag, CONFIG, [
    { mediaType: MEDIA.model, bytes: model },
    { mediaType: MEDIA.template, bytes: text("{{ .Prompt }}") },
    { mediaType: MEDIA.params, bytes: text('{"stop":["<|end|>"]}') },
    { mediaType: MEDIA.license, bytes: text("MIT") },
  ]);
}

beforeEach(() => {
  registry = new FakeRegistry();
  store = tempStore();
});

afterEach(() => {
  registry.stop();
  store.cleanup();
});

describe("pull from an Ollama registry", () => {
  test("answers the token challenge, follows blob redirects without the token, and stores the manifest byte for byte", async () => {
    const manifest = publishTiny();
    const name = `${registry.host}/library/tiny`;
    const { events, error } = await drain(pullModel(store, name, { insecure: true }));
    expect(error).toBeUndefined();

    expect(store.list().map((m) => m.display)).toEqual([`${name}:latest`]);
    const m = store.get(name);
    expect(new Uint8Array(readFileSync(store.manifestPath(m.name)))).toEqual(manifest);
    expect(m.config.model_format).toBe("gguf");
    expect(new Uint8Array(readFileSync(store.modelPath(m).path))).toEqual(GGUF);

    // one anonymous token, asked for with service and scope as Docker's protocol has it
    expect(registry.tokenRequests.length).toBe(1);
    const t = registry.tokenRequests[0]!;
    expect(t.searchParams.get("service")).toBe("fake-registry");
    expect(t.searchParams.get("scope")).toBe("repository:library/tiny:pull");
    expect(t.searchParams.get("ts")).toMatch(/^\d+$/);
    // the registry saw the token on every request after the challenge; storage never saw it
    const registryRequests = registry.log.filter((r) => r.path !== "/token");
    expect(registryRequests[0]!.authorization).toBeNull();
    for (const r of registryRequests.slice(1)) expect(r.authorization).toBe(`Bearer ${registry.token}`);
    expect(registry.storage.log.length).toBe(5);
    for (const r of registry.storage.log) expect(r.authorization).toBeNull();

    expect(events[0]).toEqual({ status: "pulling manifest" });
    expect(events.slice(-3)).toEqual([{ status: "verifying sha256 digest" }, { status: "writing manifest" }, { status: "success" }]);
    const digests = new Set(events.filter((e) => e.digest).map((e) => e.digest));
    expect([...digests].sort()).toEqual([m.manifest.config, ...m.manifest.layers].map((l) => l.digest).sort());
    for (const e of events.filter((e) => e.digest)) expect(e.status).toBe(`pulling ${e.digest!.slice(7, 19)}`);
  });

  test("a model the registry does not have is Ollama's 'pull model manifest: file does not exist'", async () => {
    const { events, error } = await drain(pullModel(store, `${registry.host}/library/nope:7b`, { insecure: true }));
    expect(events).toEqual([{ status: "pulling manifest" }]);
    expect(error?.message).toBe("pull model manifest: file does not exist");
    expect(store.list()).toEqual([]);
  });

  test("an http:// name needs insecure", async () => {
    publishTiny();
    const { error } = await drain(pullModel(store, `http://${registry.host}/library/tiny`));
    expect(error?.message).toBe("insecure protocol http");
    expect((await drain(pullModel(store, `http://${registry.host}/library/tiny`, { insecure: true }))).error).toBeUndefined();
  });

  test("a blob cut short resumes from its partial file with a Range request", async () => {
    publishTiny("latest", BIG);
    registry.storage.faults.set(sha256(BIG), { dropAfter: 70_000 });
    const name = `${registry.host}/library/tiny`;
    // no resume within the pull (OLLMLX_PULL_RETRIES=0): the next pull is the one that resumes
    const first = await drain(pullModel(store, name, { insecure: true, env: { OLLMLX_PULL_RETRIES: "0" } }));
    expect(first.error?.message).toContain("unexpected EOF");
    expect(store.list()).toEqual([]);
    const partial = `${store.blobPath(`sha256:${sha256(BIG)}`)}-partial`;
    const have = statSync(partial).size;
    expect(have).toBe(70_000);

    const second = await drain(pullModel(store, name, { insecure: true }));
    expect(second.error).toBeUndefined();
    expect(registry.storage.log.filter((r) => r.path.endsWith(sha256(BIG))).map((r) => r.range)).toEqual([null, "bytes=70000-"]);
    expect(new Uint8Array(readFileSync(store.modelPath(store.get(name)).path))).toEqual(BIG);
    expect(existsSync(partial)).toBe(false);
  });

  test("a blob whose bytes do not match its digest is deleted and the pull fails", async () => {
    publishTiny();
    registry.storage.faults.set(sha256(GGUF), { corrupt: bytesOf(GGUF.length, 5) });
    const { error } = await drain(pullModel(store, `${registry.host}/library/tiny`, { insecure: true }));
    expect(error?.message).toStartWith(`digest mismatch, file must be downloaded again: want sha256:${sha256(GGUF)}`);
    expect(existsSync(store.blobPath(`sha256:${sha256(GGUF)}`))).toBe(false);
    expect(existsSync(`${store.blobPath(`sha256:${sha256(GGUF)}`)}-partial`)).toBe(false);
    expect(store.list()).toEqual([]);
  });

  test("layers already in the store are reported complete once and not downloaded again", async () => {
    publishTiny();
    const name = `${registry.host}/library/tiny`;
    await drain(pullModel(store, name, { insecure: true }));
    registry.storage.log.length = 0;
    const { events, error } = await drain(pullModel(store, name, { insecure: true }));
    expect(error).toBeUndefined();
    expect(registry.storage.log).toEqual([]);
    const layerEvents = events.filter((e) => e.digest);
    expect(layerEvents.length).toBe(5);
    for (const e of layerEvents) expect(e.completed).toBe(e.total!);
  });

  test("a re-pull whose manifest changed removes the layers nothing else uses", async () => {
    publishTiny();
    const name = `${registry.host}/library/tiny`;
    await drain(pullModel(store, name, { insecure: true }));
    publishTiny("latest", BIG);
    const { events } = await drain(pullModel(store, name, { insecure: true }));
    expect(events.map((e) => e.status)).toContain("removing unused layers");
    expect(existsSync(store.blobPath(`sha256:${sha256(GGUF)}`))).toBe(false);
    expect(store.list().length).toBe(1);
  });
});
