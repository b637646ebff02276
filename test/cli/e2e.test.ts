// The CLI against the real server (createApp, real runner processes, real MLX) over a temporary store holding the
// tiny model: create from a Modelfile, list, show, run (one prompt and the interactive session), ps, stop, cp, rm.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type TestServer } from "../routes/harness.ts";
import { cli, PtySession } from "./cli.ts";

let server: TestServer;
let host: string;
beforeAll(async () => {
  server = await startServer();
  host = server.url;
});
afterAll(() => server.close());

describe("against the real server", () => {
  test("create from a Modelfile, then list and show it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ollmlx-cli-e2e-"));
    writeFileSync(join(dir, "Modelfile"), 'FROM tiny\nPARAMETER num_predict 6\nPARAMETER seed 7\nSYSTEM "You are tiny."\n');
    const created = await cli(host, ["create", "tiny6", "-f", join(dir, "Modelfile")]);
    expect(created.stderr).toEndWith("writing manifest\nsuccess\n");
    expect(created.code).toBe(0);

    const list = await cli(host, ["list"]);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")[0]!.trimEnd()).toMatch(/^NAME\s+ID\s+SIZE\s+MODIFIED$/);
    expect(list.stdout).toMatch(/\ntiny6:latest\s+[0-9a-f]{12}\s+\d+(\.\d)? [KMG]?B\s+(Less than a second|\d+ seconds?) ago\s*\n/);
    expect(list.stdout).toMatch(/\ntiny:latest\s+[0-9a-f]{12}\s/);

    const show = await cli(host, ["show", "tiny6"]);
    expect(show.code).toBe(0);
    expect(show.stdout).toStartWith("  Model\n    architecture");
    expect(show.stdout).toContain("qwen3");
    expect((await cli(host, ["show", "tiny6", "--system"])).stdout).toBe("You are tiny.");
    expect((await cli(host, ["show", "tiny6", "--parameters"])).stdout).toMatch(/num_predict\s+6/);
  });

  test("run with --verbose: an answer of num_predict tokens and the timing block; ps shows it loaded; stop unloads it", async () => {
    const run = await cli(host, ["run", "tiny6", "hello", "--verbose"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toEndWith("\n\n");
    expect(run.stderr).toMatch(/^total duration: {7}\S+\nload duration: {8}\S+\nprompt eval count: {4}\d+ token\(s\)\n/);
    expect(run.stderr).toContain("eval count:           6 token(s)\n");
    expect(run.stderr).toMatch(/eval rate: {12}\d+\.\d\d tokens\/s\n$/);

    const ps = await cli(host, ["ps"]);
    expect(ps.stdout.split("\n")[0]!.trimEnd()).toMatch(/^NAME\s+ID\s+SIZE\s+PROCESSOR\s+CONTEXT\s+UNTIL$/);
    expect(ps.stdout).toMatch(/\ntiny6:latest\s+[0-9a-f]{12}\s+.+\s+100% [CG]PU\s+\d+\s+\d+ minutes from now\s*\n/);

    expect(await cli(host, ["stop", "tiny6"])).toMatchObject({ code: 0, stderr: "" });
    expect((await cli(host, ["ps"])).stdout).not.toContain("tiny6");
  });

  test("the interactive session talks to the real server", async () => {
    const pty = new PtySession(host, ["run", "tiny6"]);
    let at = await pty.waitFor(">>> ", 0, 60_000);
    pty.type("hi\r");
    at = await pty.waitFor(">>> ", at, 60_000);
    pty.type("/show system\r");
    at = await pty.waitFor("You are tiny.", at);
    pty.type("/bye\r");
    expect(await pty.exit()).toBe(0);
  });

  test("create FROM a .gguf file uploads it as a blob the server accepts (digest checked there)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ollmlx-cli-e2e-"));
    const gguf = join(import.meta.dir, "../../.deps/models/smollm2-135m-instruct-q4_1.gguf");
    writeFileSync(join(dir, "Modelfile"), `FROM ${gguf}\n`);
    const created = await cli(host, ["create", "fromfile", "-f", join(dir, "Modelfile")]);
    expect(created.stderr).toMatch(/copying file sha256:[0-9a-f]{64} 100%/);
    expect(created.stderr).toEndWith("success\n");
    expect(created.code).toBe(0);
    expect((await cli(host, ["list"])).stdout).toMatch(/\nfromfile:latest\s+[0-9a-f]{12}\s+98 MB\s/);
    expect(await cli(host, ["rm", "fromfile"])).toMatchObject({ code: 0, stdout: "deleted 'fromfile'\n" });
  });

  test("create FROM a file that is not GGUF fails with one clear line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ollmlx-cli-e2e-"));
    writeFileSync(join(dir, "weights.gguf"), new Uint8Array(3_000_000).map((_, i) => (i * 31) % 251));
    writeFileSync(join(dir, "Modelfile"), "FROM ./weights.gguf\n");
    const created = await cli(host, ["create", "notgguf", "-f", join(dir, "Modelfile")]);
    expect(created.code).toBe(1);
    expect(created.stderr).toEndWith("Error: not a GGUF file: bad magic 0x5d3e1f00 at offset 0\n");
    expect((await cli(host, ["list"])).stdout).not.toContain("notgguf");
  });

  test("cp and rm; errors from the real server are one line", async () => {
    expect(await cli(host, ["cp", "tiny6", "tiny7"])).toMatchObject({ code: 0, stdout: "copied 'tiny6' to 'tiny7'\n" });
    expect(await cli(host, ["rm", "tiny6", "tiny7"])).toMatchObject({ code: 0, stdout: "deleted 'tiny6'\ndeleted 'tiny7'\n" });
    expect((await cli(host, ["list"])).stdout).not.toContain("tiny6");
    expect(await cli(host, ["show", "tiny6"])).toMatchObject({ code: 1, stderr: "Error: model 'tiny6' not found\n" });
  });
});
