// The compiled CLI's commands against the real server: list/ls and ps tables, show and its part flags, cp/rm/stop,
// help, version, usage errors, serve, and the one-line errors and exit codes when a model or the server is missing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, ROOT, waitForVersion } from "../binary/dist.ts";
import { cli, spawnCli } from "./cli.ts";
import { SHORT, startCliServer, type CliServer } from "./real-server.ts";

const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

let s: CliServer;
let host: string;
beforeAll(async () => {
  s = await startCliServer();
  host = s.host;
  await s.create("described", {
    from: "tiny",
    system: "You are tiny.\nBe brief.\nThird line.",
    license: "MIT License\nCopyright you\nmore",
    parameters: { stop: ["<|end|>", "<|eot|>"], temperature: 0.5 },
  });
}, 120_000);
afterAll(() => s.close());

/** the 12-hex ID list shows for a model: the start of its manifest digest, as /api/tags reports it */
async function digestOf(name: string): Promise<string> {
  const { models } = (await (await fetch(`${s.server.url}/api/tags`)).json()) as { models: { name: string; digest: string }[] };
  return models.find((m) => m.name === name)!.digest.slice(0, 12);
}

describe("list and ps", () => {
  test("list prints NAME ID SIZE MODIFIED: 12-digit ids, decimal sizes, relative times, columns aligned", async () => {
    const r = await cli(host, ["list"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]!.trimEnd()).toMatch(/^NAME\s+ID\s+SIZE\s+MODIFIED$/);
    const row = lines.find((l) => l.startsWith("tiny:latest"))!;
    expect(row.trimEnd()).toMatch(new RegExp(`^tiny:latest {4,}${await digestOf("tiny:latest")} {4}2\\.1 MB {4}(Less than a second|\\d+ seconds?) ago$`));
    const idColumn = lines[0]!.indexOf("ID");
    for (const line of lines.slice(1)) expect(line.slice(idColumn, idColumn + 12)).toMatch(/^[0-9a-f]{12}$/);
    expect(lines.map((l) => l.split(" ")[0]).slice(1).sort()).toEqual(["described:latest", "short:latest", "tiny:latest"]);
  });

  test("ls is list, and a prefix filters the rows", async () => {
    const r = await cli(host, ["ls", "sho"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").length).toBe(2);
    expect(r.stdout).toContain("\nshort:latest ");
  });

  test("ps prints NAME ID SIZE PROCESSOR CONTEXT UNTIL; --keepalive -1s makes it Forever; stop unloads", async () => {
    expect((await cli(host, ["run", SHORT, "hi"])).code).toBe(0);
    const r = await cli(host, ["ps"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n").map((l) => l.trimEnd());
    expect(lines[0]).toMatch(/^NAME\s+ID\s+SIZE\s+PROCESSOR\s+CONTEXT\s+UNTIL$/);
    const digest = await digestOf("short:latest");
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^short:latest\\s+${digest}\\s+\\d\\.\\d MB\\s+100% [CG]PU\\s+4096\\s+4 minutes from now$`)));

    expect((await cli(host, ["run", SHORT, "hi", "--keepalive", "-1s"])).code).toBe(0);
    expect((await cli(host, ["ps"])).stdout).toMatch(/\nshort:latest\s.*\s4096\s+Forever\s*\n/);
    expect(await cli(host, ["stop", SHORT])).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(s.tap.last("/api/generate")).toEqual({ model: SHORT, keep_alive: 0 });
    expect((await cli(host, ["ps"])).stdout).not.toContain("short:latest");
  }, 60_000);
});

describe("show", () => {
  test("prints Ollama's sections: Model, Capabilities, Parameters, System and License (two lines, then ...)", async () => {
    const r = await cli(host, ["show", "described"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    // label column 16 wide ("embedding length"), values as wide as the widest ("qwen3"), each followed by 4 spaces
    expect(r.stdout).toStartWith(
      "  Model\n    architecture        qwen3    \n    parameters          1.6M     \n    context length      4096     \n" +
        "    embedding length    64       \n    quantization        F32      \n\n",
    );
    expect(r.stdout).toContain("  Capabilities\n    completion    \n    tools         \n    thinking      \n\n");
    expect(r.stdout).toContain('  Parameters\n    stop           "<|end|>"    \n    stop           "<|eot|>"    \n    temperature    0.5          \n\n');
    expect(r.stdout).toContain("  System\n    You are tiny.    \n    Be brief.        \n    ...              \n\n");
    expect(r.stdout).toEndWith("  License\n    MIT License      \n    Copyright you    \n    ...              \n\n");
  });

  test("--modelfile, --parameters, --template, --system, --license print that part alone", async () => {
    const modelfile = await cli(host, ["show", "described", "--modelfile"]);
    expect(modelfile.stdout).toStartWith('# Modelfile generated by "ollama show"\n# To build a new Modelfile based on this, replace FROM with:\n# FROM described:latest\n\nFROM ');
    expect(modelfile.stdout).toContain('SYSTEM """You are tiny.\nBe brief.\nThird line."""');
    expect((await cli(host, ["show", "described", "--template"])).stdout).toContain("<|im_start|>");
    expect((await cli(host, ["show", "described", "--system"])).stdout).toStartWith("You are tiny.\nBe brief.\nThird line.");
    expect((await cli(host, ["show", "described", "--parameters"])).stdout).toBe(`stop${" ".repeat(27)}"<|end|>"\nstop${" ".repeat(27)}"<|eot|>"\ntemperature${" ".repeat(20)}0.5\n`);
    expect((await cli(host, ["show", "described", "--license"])).stdout).toBe("MIT License\nCopyright you\nmore\n");
  });

  test("two part flags at once is refused", async () => {
    const r = await cli(host, ["show", "described", "--system", "--template"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: only one of '--license', '--modelfile', '--parameters', '--system', or '--template' can be specified\n");
  });
});

describe("cp, rm, and a model that is not there", () => {
  test("cp copies and says so; the copy is listed", async () => {
    expect(await cli(host, ["cp", "described", "mine:v1"])).toMatchObject({ code: 0, stdout: "copied 'described' to 'mine:v1'\n" });
    expect(s.tap.last("/api/copy")).toEqual({ source: "described", destination: "mine:v1" });
    expect((await cli(host, ["list"])).stdout).toContain("\nmine:v1 ");
  });

  test("rm unloads a loaded model (empty generate, keep_alive 0), then deletes each model", async () => {
    await cli(host, ["cp", SHORT, "gone1"]);
    await cli(host, ["cp", SHORT, "gone2"]);
    expect((await cli(host, ["run", "gone1", "hi"])).code).toBe(0);
    expect((await cli(host, ["ps"])).stdout).toContain("gone1:latest");
    const before = s.tap.requests.length;
    const r = await cli(host, ["rm", "gone1", "gone2"]);
    expect(r).toMatchObject({ code: 0, stdout: "deleted 'gone1'\ndeleted 'gone2'\n", stderr: "" });
    const sent = s.tap.requests.slice(before).filter((q) => q.path !== "/");
    expect(sent.map((q) => `${q.method} ${q.path}`)).toEqual(["POST /api/generate", "DELETE /api/delete", "DELETE /api/delete"]);
    expect(sent[0]!.body).toEqual({ model: "gone1", keep_alive: 0 });
    const after = await cli(host, ["list"]);
    expect(after.stdout).not.toContain("gone");
    expect((await cli(host, ["ps"])).stdout).not.toContain("gone1");
  }, 60_000);

  test("an unknown model: show, rm, cp and stop print the server's error as one line, exit 1, nothing on stdout", async () => {
    for (const [args, message] of [
      [["show", "ghost"], "Error: model 'ghost' not found\n"],
      [["rm", "ghost"], "Error: model 'ghost' not found\n"],
      [["cp", "ghost", "other"], 'Error: model "ghost" not found\n'],
      [["stop", "ghost"], 'Error: couldn\'t find model "ghost" to stop\n'],
    ] as const) {
      expect(await cli(host, [...args])).toEqual({ code: 1, stdout: "", stderr: message });
    }
  });
});

describe("help, version, usage errors", () => {
  test("help lists every command; `help run` and `run --help` print run's usage and flags", async () => {
    const root = await cli(host, ["--help"]);
    for (const c of ["serve", "create", "show", "run", "stop", "pull", "push", "list", "ps", "cp", "rm"]) {
      expect(root.stdout).toMatch(new RegExp(`\\n  ${c} +\\S`));
    }
    const a = await cli(host, ["help", "run"]);
    const b = await cli(host, ["run", "--help"]);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toStartWith("Run a model\n\nUsage:\n  ollmlx run MODEL [PROMPT] [flags]\n\nFlags:\n");
    for (const flag of ["--format string", "--keepalive string", "--nowordwrap", '--think string[="true"]', "--verbose", "--insecure", "-h, --help"]) {
      expect(a.stdout).toContain(flag);
    }
    expect(a.stdout).toContain("OLLAMA_NOHISTORY");
    expect((await cli(host, ["help", "ls"])).stdout).toContain("Aliases:\n  list, ls\n");
    expect((await cli(host, ["create", "-h"])).stdout).toContain("  -f, --file string       Name of the Modelfile");
    for (const c of ["serve", "create", "show", "stop", "pull", "list", "ps", "cp", "rm"]) {
      const help = await cli(host, [c, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`\nUsage:\n  ollmlx ${c}`);
      expect(help.stdout).toContain("  -h, --help ");
    }
    expect((await cli(host, ["help", "serve"])).stdout).toContain("OLLAMA_HOST");
  });

  test("--version prints the server's version; a server of another version makes it warn with the client's", async () => {
    expect(await cli(host, ["--version"])).toEqual({ code: 0, stdout: `ollmlx version is ${VERSION}\n`, stderr: "" });
    // A real server always has this client's version; only a stand-in can answer another one.
    const other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ version: "9.9.9" }) });
    try {
      expect((await cli(`127.0.0.1:${other.port}`, ["-v"])).stdout).toBe(`ollmlx version is 9.9.9\nWarning: client version is ${VERSION}\n`);
    } finally {
      other.stop(true);
    }
  });

  test("usage errors: pflag's and cobra's messages, exit code 1", async () => {
    expect(await cli(host, ["run"])).toMatchObject({ code: 1, stderr: "Error: requires at least 1 arg(s), only received 0\n" });
    expect(await cli(host, ["cp", "a"])).toMatchObject({ code: 1, stderr: "Error: accepts 2 arg(s), received 1\n" });
    expect(await cli(host, ["list", "--bogus"])).toMatchObject({ code: 1, stderr: "Error: unknown flag: --bogus\n" });
    expect(await cli(host, ["run", "m", "--format"])).toMatchObject({ code: 1, stderr: "Error: flag needs an argument: --format\n" });
    const unknown = await cli(host, ["frobnicate"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toStartWith('Error: unknown command "frobnicate" for "ollmlx"');
  });
});

describe("serve", () => {
  test("serve listens where OLLAMA_HOST says, other commands reach it there, SIGINT stops it with exit 0", async () => {
    const port = freePort();
    const models = mkdtempSync(join(tmpdir(), "ollmlx-cli-serve-"));
    const proc = spawnCli(`127.0.0.1:${port}`, ["serve"], { OLLAMA_MODELS: models, OLLMLX_MODELS: models });
    try {
      expect(await waitForVersion(`http://127.0.0.1:${port}`, 20_000, 50)).toBe(VERSION);
      const list = await cli(`127.0.0.1:${port}`, ["list"]);
      expect(list).toMatchObject({ code: 0, stdout: "NAME    ID    SIZE    MODIFIED    \n" });
      // OLLAMA_HOST as Ollama reads it: with or without a scheme
      expect((await cli(`http://127.0.0.1:${port}`, ["ps"])).stdout).toBe("NAME    ID    SIZE    PROCESSOR    CONTEXT    UNTIL    \n");
      // a second serve on the same address says why it cannot listen
      const again = await cli(`127.0.0.1:${port}`, ["serve"], { env: { OLLAMA_MODELS: models } });
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(`Error: listen tcp 127.0.0.1:${port}: bind: address already in use\n`);
    } finally {
      proc.kill("SIGINT");
    }
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stderr).text()).toContain(`listening on 127.0.0.1:${port}`);
  }, 60_000);
});

describe("no server", () => {
  test("every client command says, in one line, where it looked and how to start a server; exit code 1", async () => {
    const url = `127.0.0.1:${freePort()}`;
    for (const args of [["list"], ["ps"], ["run", "m", "hi"], ["show", "m"], ["pull", "m"], ["rm", "m"], ["cp", "a", "b"], ["stop", "m"], ["create", "m"]]) {
      const r = await cli(url, args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`Error: could not connect to an ollmlx server at http://${url} (from OLLAMA_HOST), run 'ollmlx serve' to start one\n`);
    }
  });

  test("--version without a server warns and still prints the client's version", async () => {
    const r = await cli(`127.0.0.1:${freePort()}`, ["--version"]);
    expect(r).toMatchObject({ code: 0, stdout: `Warning: could not connect to a running ollmlx instance\nWarning: client version is ${VERSION}\n` });
  });
});
