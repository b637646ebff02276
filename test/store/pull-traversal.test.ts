// A hostile server (or a hostile name) must not make a pull write outside the store: model names, registry digests
// and layer names, Hugging Face file names, LFS hashes and commit ids that name paths are refused with a clear error
// before anything is fetched, and the filesystem around the store is checked to be untouched.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pullModel } from "../../src/store/pull.ts";
import { MEDIA, Store } from "../../src/store/store.ts";
import { bytesOf, drain, FakeHub, FakeRegistry, sha256, text, type RepoFile } from "./fake-servers.ts";
import { expectNothingInstalled, filesUnder } from "./store-checks.ts";

let outer: string;
let store: Store;
let hub: FakeHub;
let registry: FakeRegistry;

beforeEach(() => {
  // the store sits one level down, so that a write beside it would show
  outer = mkdtempSync(join(tmpdir(), "ollmlx-traversal-"));
  store = new Store(join(outer, "store"));
  hub = new FakeHub();
  registry = new FakeRegistry();
});

afterEach(() => {
  hub.stop();
  registry.stop();
  rmSync(outer, { recursive: true, force: true });
});

/** Nothing outside the store, and nothing installed or corrupt in it. */
function expectContained(): void {
  expect(filesUnder(outer).filter((f) => !f.startsWith("store/"))).toEqual([]);
  expect(expectNothingInstalled(store)).toEqual([]);
}

const WEIGHTS = bytesOf(20_000, 31);

function mlxRepo(extra: RepoFile[] = []): RepoFile[] {
  return [
    { name: "config.json", bytes: text(JSON.stringify({ model_type: "qwen3" })) },
    { name: "tokenizer.json", bytes: text("{}") },
    { name: "model.safetensors", bytes: WEIGHTS, lfs: true },
    ...extra,
  ];
}

describe("hostile model names", () => {
  const names = ["../x", "a/../../b", "/abs/model", "..\\..\\x", "a\\b", "x\u0000y", "..", "library/../../etc", "x:../../y", "hf.co/../../etc/passwd", "hf.co/org/..:latest"];
  for (const name of names) {
    test(`${JSON.stringify(name)} is an invalid model name and nothing is requested or written`, async () => {
      const { error } = await drain(pullModel(store, name, { env: { HF_ENDPOINT: hub.endpoint }, insecure: true }));
      expect(error?.message).toContain("invalid model name");
      expect(hub.log).toEqual([]);
      expect(filesUnder(outer)).toEqual([]);
    });
  }
});

describe("a hostile Ollama registry", () => {
  const bad = [
    "sha256-../../../../tmp/evil",
    "sha256:../../../../tmp/evil",
    `sha256:${"a".repeat(63)}`,
    `sha256:${"a".repeat(65)}`,
    `sha256:${"A".repeat(64)}`,
    `sha256:${"g".repeat(64)}`,
    `sha512:${"a".repeat(64)}`,
    `sha256:${"a".repeat(64)}/../../x`,
  ];
  for (const digest of bad) {
    test(`a layer digest ${JSON.stringify(digest)} is refused before any blob is fetched`, async () => {
      const config = { mediaType: MEDIA.config, digest: `sha256:${sha256(text("{}"))}`, size: 2 };
      const manifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: [{ mediaType: MEDIA.model, digest, size: 10 }] };
      registry.manifests.set("library/evil:latest", text(JSON.stringify(manifest)));
      const { error } = await drain(pullModel(store, `${registry.host}/library/evil`, { insecure: true }));
      expect(error?.message).toBe(`pull model manifest: the registry sent an invalid layer digest ${JSON.stringify(digest)}`);
      expect(registry.storage.log).toEqual([]);
      expectContained();
    });
  }

  test("a hostile config digest, a negative size and a layer name with a path are refused", async () => {
    const good = `sha256:${registry.storage.add(text("{}"))}`;
    const cases: [Record<string, unknown>, Record<string, unknown>, string][] = [
      [{ digest: "sha256:../../evil", size: 2 }, { digest: good, size: 2 }, 'invalid layer digest "sha256:../../evil"'],
      [{ digest: good, size: 2 }, { digest: good, size: -1 }, `invalid layer ${good}`],
      [{ digest: good, size: 2 }, { digest: good, size: 2, name: "../../etc/passwd" }, 'unsafe layer name "../../etc/passwd"'],
      [{ digest: good, size: 2 }, { digest: good, size: 2, name: "/etc/passwd" }, 'unsafe layer name "/etc/passwd"'],
      [{ digest: good, size: 2 }, { digest: good, size: 2, name: ".." }, 'unsafe layer name ".."'],
    ];
    for (const [config, layer, message] of cases) {
      const manifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config: { mediaType: MEDIA.config, ...config }, layers: [{ mediaType: MEDIA.json, ...layer }] };
      registry.manifests.set("library/evil:latest", text(JSON.stringify(manifest)));
      const { error } = await drain(pullModel(store, `${registry.host}/library/evil`, { insecure: true }));
      expect(error?.message).toBe(`pull model manifest: the registry sent an ${message}`);
    }
    expect(registry.storage.log).toEqual([]);
    expectContained();
  });
});

describe("a hostile Hugging Face Hub", () => {
  const names = ["../../etc/passwd", "/abs.json", "a/../../b.json", "..\\..\\evil.json", "evil\u0000.json", "", "a//b.json", "./config.json"];
  for (const name of names) {
    test(`a listed file name ${JSON.stringify(name)} fails the pull before any file is fetched`, async () => {
      hub.addRepo("mlx-community/Evil", mlxRepo([{ name, bytes: text('{"x":1}') }]));
      const { error } = await drain(pullModel(store, "mlx-community/Evil", { env: { HF_ENDPOINT: hub.endpoint } }));
      expect(error?.message).toBe(`pull model manifest: Hugging Face repo "mlx-community/Evil" sent an unsafe listing: file name ${JSON.stringify(name)} is not a safe relative path`);
      expect(hub.log.map((r) => r.path)).toEqual(["/api/models/mlx-community/Evil/revision/main"]);
      expect(hub.cdn.log).toEqual([]);
      expectContained();
    });
  }

  test("an LFS sha256 that is a path, too short or uppercase is refused; so is a commit id that is a path", async () => {
    for (const listed of ["../../../../tmp/evil", "abc", sha256(WEIGHTS).toUpperCase()]) {
      hub.addRepo("mlx-community/Evil", [...mlxRepo().slice(0, 2), { name: "model.safetensors", bytes: WEIGHTS, lfs: true, listedSha256: listed }]);
      const { error } = await drain(pullModel(store, "mlx-community/Evil", { env: { HF_ENDPOINT: hub.endpoint } }));
      expect(error?.message).toBe(`pull model manifest: Hugging Face repo "mlx-community/Evil" sent an unsafe listing: model.safetensors: sha256 ${JSON.stringify(listed)} is not 64 lowercase hex digits`);
    }
    hub.addRepo("mlx-community/Evil", mlxRepo());
    hub.commit = "../../../admin";
    const { error } = await drain(pullModel(store, "mlx-community/Evil", { env: { HF_ENDPOINT: hub.endpoint } }));
    expect(error?.message).toBe('pull model manifest: Hugging Face repo "mlx-community/Evil" sent an unsafe listing: commit "../../../admin" is not a git commit id');
    expect(hub.cdn.log).toEqual([]);
    expectContained();
  });

  test("a file in a subdirectory is legitimate: the pull succeeds, installing only the model's top-level files", async () => {
    hub.addRepo("mlx-community/Tidy", mlxRepo([{ name: "onnx/model.json", bytes: text("{}") }]));
    const { error } = await drain(pullModel(store, "mlx-community/Tidy", { env: { HF_ENDPOINT: hub.endpoint } }));
    expect(error).toBeUndefined();
    const m = store.get("mlx-community/Tidy");
    expect(m.manifest.layers.map((l) => l.name).sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json"]);
    expect(hub.requestedPaths().some((p) => p.includes("onnx"))).toBe(false);
    expect(filesUnder(outer).filter((f) => !f.startsWith("store/"))).toEqual([]);
  });
});
