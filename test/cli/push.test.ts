// `ollmlx push` end to end: the real CLI, a real server over a temp store (the tiny MLX model), and a local registry
// that accepts uploads.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, TINY, type TestServer } from "../routes/harness.ts";
import { UploadRegistry } from "../store/fake-registry-upload.ts";
import { cli } from "./cli.ts";

let server: TestServer;
let registry: UploadRegistry;
let name: string;

beforeAll(async () => {
  server = await startServer();
  registry = new UploadRegistry();
  name = `${registry.host}/me/tiny`;
  server.store.copy(TINY, name);
});

afterAll(async () => {
  registry.stop();
  await server.close();
});

describe("ollmlx push", () => {
  test("pushes every blob with a line each, exits 0 and says where the model is", async () => {
    const { code, stdout, stderr } = await cli(server.url, ["push", "--insecure", name]);
    expect(stderr).not.toContain("Error");
    expect(code).toBe(0);
    const lines = stderr.trimEnd().split("\n");
    const manifest = server.store.get(name).manifest;
    const blobs = [...manifest.layers, manifest.config];
    expect(lines[0]).toBe("retrieving manifest");
    expect(lines.slice(-2)).toEqual(["pushing manifest", "success"]);
    const bars = lines.slice(1, -2);
    expect(bars.length).toBe(blobs.length);
    bars.forEach((line, i) => expect(line).toMatch(new RegExp(`^pushing ${blobs[i]!.digest.slice(7, 19)} 100% ▕█+▏`)));
    expect(stdout).toBe(`\nYou can find your model at:\n\n\t${registry.host}/me/tiny:latest\n`);
    expect(registry.manifests.has("me/tiny:latest")).toBe(true);
  });

  test("a model the store does not have: one error line, exit 1", async () => {
    const missing = `${registry.host}/me/missing`;
    const { code, stdout, stderr } = await cli(server.url, ["push", "--insecure", missing]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    const lines = stderr.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("Error:"))).toEqual([
      `Error: open ${server.store.manifestPath({ host: registry.host, namespace: "me", model: "missing", tag: "latest" })}: no such file or directory`,
    ]);
    expect(lines.at(-1)).toStartWith("Error:");
  });

  test("a registry that refuses the push: Ollama's advice to use a namespace you own", async () => {
    registry.faults.denyAll = true;
    try {
      const { code, stderr } = await cli(server.url, ["push", "--insecure", name]);
      expect(code).toBe(1);
      expect(stderr.trimEnd().split("\n").at(-1)).toBe(
        "Error: you are not authorized to push to this namespace, create the model under a namespace you own",
      );
    } finally {
      registry.faults.denyAll = false;
    }
  });
});
