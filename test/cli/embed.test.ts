// `ollmlx run` on an embedding model (the compiled CLI against a real server with the real all-MiniLM): the vector
// as one JSON line, --dimensions, --truncate=false, and no text at all.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mlxConfigBlob } from "../../src/store/pull-hf.ts";
import { allMiniLmDir } from "../fixtures/all-minilm.ts";
import { post, startServer, type TestServer } from "../routes/harness.ts";
import { cli } from "./cli.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  const dir = allMiniLmDir();
  await server.store.importMlxDir("all-minilm", dir, mlxConfigBlob(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))));
}, 120_000);
afterAll(() => server.close());

async function serverVector(body: Record<string, unknown>): Promise<number[]> {
  const r = (await (await post(server.url, "/api/embed", { model: "all-minilm", ...body })).json()) as { embeddings: number[][] };
  return r.embeddings[0]!;
}

describe("run on an embedding model", () => {
  test("prints the /api/embed vector of the prompt as one JSON line", async () => {
    const r = await cli(server.url, ["run", "all-minilm", "hello", "embeddings"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout.endsWith("\n")).toBe(true);
    expect(JSON.parse(r.stdout)).toEqual(await serverVector({ input: "hello embeddings" }));
  }, 60_000);

  test("--dimensions cuts the vector; --truncate=false makes a long input the server's error", async () => {
    const cut = await cli(server.url, ["run", "all-minilm", "--dimensions", "8", "short text"]);
    expect(JSON.parse(cut.stdout)).toHaveLength(8);
    const long = await cli(server.url, ["run", "all-minilm", "--truncate=false", "word ".repeat(600)]);
    expect(long.code).toBe(1);
    expect(long.stderr).toContain("the input length exceeds the context length");
  }, 60_000);

  test("no text is an error that says how to give one", async () => {
    const r = await cli(server.url, ["run", "all-minilm"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('embedding models require input text. Usage: ollmlx run all-minilm "your text here"');
  }, 60_000);
});
