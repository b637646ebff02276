// `ollmlx create`: the Modelfile as Ollama parses it, and the blob upload + POST /api/create it turns into.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequest, parseModelfile } from "../../src/cli/modelfile.ts";
import { cli } from "./cli.ts";
import { startStub, type Stub } from "./stub-server.ts";

let stub: Stub;
beforeAll(() => {
  stub = startStub();
});
afterAll(() => stub.close());

const dir = () => mkdtempSync(join(tmpdir(), "ollmlx-cli-create-"));
const lastCreate = () => stub.requests.filter((r) => r.path === "/api/create").at(-1)!.body as Record<string, unknown>;

describe("Modelfile", () => {
  const text = `# a comment
FROM llama3.2
parameter temperature 0.7
PARAMETER num_ctx 8192
PARAMETER stop "<|eot_id|>"
PARAMETER stop <|end|>
PARAMETER use_mmap false
SYSTEM """You are Mario.
Answer as Mario."""
TEMPLATE "{{ .Prompt }}"
LICENSE MIT
LICENSE """Apache
2.0"""
MESSAGE user Is Toronto in Canada?
MESSAGE assistant yes
`;

  test("instructions are case-insensitive; quoted and triple-quoted values; parameters and messages", () => {
    expect(parseModelfile(text)).toEqual([
      { name: "model", args: "llama3.2" },
      { name: "temperature", args: "0.7" },
      { name: "num_ctx", args: "8192" },
      { name: "stop", args: "<|eot_id|>" },
      { name: "stop", args: "<|end|>" },
      { name: "use_mmap", args: "false" },
      { name: "system", args: "You are Mario.\nAnswer as Mario." },
      { name: "template", args: "{{ .Prompt }}" },
      { name: "license", args: "MIT" },
      { name: "license", args: "Apache\n2.0" },
      { name: "message", args: "user: Is Toronto in Canada?" },
      { name: "message", args: "assistant: yes" },
    ]);
  });

  test("the create request: FROM a name is `from`, parameters typed by option, stop accumulates", async () => {
    const { request, blobs } = await createRequest(parseModelfile(text), dir());
    expect(blobs.size).toBe(0);
    expect(request).toEqual({
      from: "llama3.2",
      system: "You are Mario.\nAnswer as Mario.",
      template: "{{ .Prompt }}",
      parameters: { temperature: 0.7, num_ctx: 8192, stop: ["<|eot_id|>", "<|end|>"], use_mmap: false },
      license: ["MIT", "Apache\n2.0"],
      messages: [
        { role: "user", content: "Is Toronto in Canada?" },
        { role: "assistant", content: "yes" },
      ],
    });
  });

  test("Ollama's errors: no FROM, unknown command, bad role, unknown parameter, wrong type", async () => {
    expect(() => parseModelfile("SYSTEM hi\n")).toThrow("no FROM line");
    expect(() => parseModelfile("FROM x\nFOO bar\n")).toThrow(/^command must be one of "from", "license"/);
    expect(() => parseModelfile("FROM x\nMESSAGE robot hi\n")).toThrow('message role must be one of "system", "user", or "assistant"');
    await expect(createRequest(parseModelfile("FROM x\nPARAMETER foo 1\n"), dir())).rejects.toThrow("unknown parameter 'foo'");
    await expect(createRequest(parseModelfile("FROM x\nPARAMETER num_ctx big\n"), dir())).rejects.toThrow("invalid int value [big]");
  });
});

describe("ollmlx create", () => {
  test("FROM ./file.gguf: the file is hashed, uploaded to /api/blobs/<digest>, and created with `files`", async () => {
    const d = dir();
    const weights = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    writeFileSync(join(d, "model.gguf"), weights);
    writeFileSync(join(d, "Modelfile"), "FROM ./model.gguf\nPARAMETER temperature 0.2\n");
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(weights).digest("hex")}`;
    const r = await cli(stub.url, ["create", "mario", "-f", join(d, "Modelfile")]);
    expect(r.stderr).toContain(`copying file ${digest} 100%`);
    expect(r.code).toBe(0);
    expect(stub.blobs.get(digest)?.byteLength).toBe(300_000);
    expect(lastCreate()).toEqual({ model: "mario", files: { "model.gguf": digest }, parameters: { temperature: 0.2 } });
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("gathering model components");
    expect(lines.slice(-3)).toEqual(["using existing layer sha256:aaaa", "writing manifest", "success"]);

    // a second create finds the blob there (HEAD 200) and does not upload it again
    const uploads = stub.requests.filter((q) => q.method === "POST" && q.path.startsWith("/api/blobs/")).length;
    expect((await cli(stub.url, ["create", "mario2", "-f", join(d, "Modelfile")])).code).toBe(0);
    expect(stub.requests.filter((q) => q.method === "POST" && q.path.startsWith("/api/blobs/")).length).toBe(uploads);
  });

  test("./Modelfile is the default; FROM an existing model sends `from`", async () => {
    const d = dir();
    writeFileSync(join(d, "Modelfile"), 'FROM llama3.2\nSYSTEM "Be terse."\n');
    const r = await cli(stub.url, ["create", "terse"], { cwd: d });
    expect(r.code).toBe(0);
    expect(lastCreate()).toEqual({ model: "terse", from: "llama3.2", system: "Be terse." });
  });

  test("a missing -f file, a Modelfile error, a server error: one line each, exit 1", async () => {
    expect(await cli(stub.url, ["create", "x", "-f", "/nonexistent/Modelfile"])).toMatchObject({
      code: 1,
      stderr: "Error: specified Modelfile wasn't found\n",
    });
    const d = dir();
    writeFileSync(join(d, "Modelfile"), "FROM llama3.2\nPARAMETER nope 1\n");
    const bad = await cli(stub.url, ["create", "x"], { cwd: d });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trimEnd().split("\n").at(-1)).toBe("Error: unknown parameter 'nope'");
    writeFileSync(join(d, "Modelfile"), "FROM ghost\n");
    const r = await cli(stub.url, ["create", "x"], { cwd: d });
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe("Error: model 'ghost' not found");
  });
});
