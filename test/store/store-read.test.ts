// Every request looks its model up in the store; the store keeps what it parsed until the manifest file changes.
// What it answers must still be what is on disk: a replaced manifest, a removed one, a blob gone missing.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { parseModelName } from "../../src/store/names.ts";
import { MEDIA, ModelNotInStoreError, type ModelConfigBlob } from "../../src/store/store.ts";
import { tempStore } from "./fake-servers.ts";

let store: ReturnType<typeof tempStore>;
const config: ModelConfigBlob = { model_format: "gguf", model_family: "llama", model_families: ["llama"], model_type: "1M", file_type: "F32" };

beforeEach(() => {
  store = tempStore();
});
afterEach(() => store.cleanup());

function write(name: string, system: string) {
  const weights = store.writeBlob(`weights of ${name}`, MEDIA.model);
  const prompt = store.writeBlob(system, MEDIA.system);
  store.writeManifest(parseModelName(name), config, [weights, prompt]);
  return prompt;
}

describe("reading a model", () => {
  test("a manifest replaced under the same name is read afresh", () => {
    write("m", "first");
    const before = store.get("m");
    expect(store.get("m")).toBe(before); // unchanged file: the same parsed model
    write("m", "second");
    const after = store.get("m");
    expect(after.digest).not.toBe(before.digest);
    expect(after.manifest.layers[1]!.digest).not.toBe(before.manifest.layers[1]!.digest);
  });

  test("a manifest rewritten in place with other content is read afresh", () => {
    write("m", "first");
    const before = store.get("m");
    const other = { ...before.manifest, layers: before.manifest.layers.slice(0, 1) };
    writeFileSync(store.manifestPath(before.name), JSON.stringify(other));
    expect(store.get("m").manifest.layers).toHaveLength(1);
  });

  test("a removed manifest is not found", () => {
    write("m", "first");
    store.get("m");
    store.delete("m");
    expect(() => store.get("m")).toThrow(ModelNotInStoreError);
  });

  test("a model whose blob went missing is not installed, though it was read before", () => {
    const prompt = write("m", "first");
    store.get("m");
    rmSync(store.blobPath(prompt.digest));
    expect(() => store.get("m")).toThrow(ModelNotInStoreError);
    expect(store.list()).toEqual([]);
  });

  test("what a lookup returns cannot be changed by its caller", () => {
    write("m", "first");
    const m = store.get("m");
    expect(() => {
      (m as { size: number }).size = 0;
    }).toThrow(TypeError);
  });
});
