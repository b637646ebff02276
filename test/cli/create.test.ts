// `ollmlx create`: the Modelfile as Ollama parses it, and the blob upload + POST /api/create it turns into, against
// the real server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequest, parseModelfile } from "../../src/cli/modelfile.ts";
import { tinyGguf } from "../store/fake-servers.ts";
import { cli } from "./cli.ts";
import { startCliServer, type CliServer } from "./real-server.ts";

let s: CliServer;
beforeAll(async () => {
  s = await startCliServer();
}, 120_000);
afterAll(() => s.close());

const dir = () => mkdtempSync(join(tmpdir(), "ollmlx-cli-create-"));
const blobUploads = () => s.tap.requests.filter((q) => q.method === "POST" && q.path.startsWith("/api/blobs/"));

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

  test("ADAPTER ./folder: an mlx-lm adapter's files are hashed for upload and sent as `adapters`", async () => {
    const d = dir();
    const adapter = join(d, "my-adapter");
    mkdirSync(adapter);
    writeFileSync(join(adapter, "adapters.safetensors"), "weights");
    writeFileSync(join(adapter, "adapter_config.json"), "{}");
    const { request, blobs } = await createRequest(parseModelfile("FROM base\nADAPTER ./my-adapter\n"), d);
    const sha = (t: string) => `sha256:${new Bun.CryptoHasher("sha256").update(t).digest("hex")}`;
    expect(request).toEqual({ from: "base", adapters: { "adapter_config.json": sha("{}"), "adapters.safetensors": sha("weights") } });
    expect(blobs.size).toBe(2);
  });

  test("ADAPTER ./lora.gguf: a llama.cpp GGUF LoRA is hashed for upload and sent as `adapters` under its file name", async () => {
    const d = dir();
    writeFileSync(join(d, "lora.gguf"), "GGUF lora");
    const { request, blobs } = await createRequest(parseModelfile("FROM base\nADAPTER ./lora.gguf\n"), d);
    expect(request).toEqual({ from: "base", adapters: { "lora.gguf": `sha256:${new Bun.CryptoHasher("sha256").update("GGUF lora").digest("hex")}` } });
    expect(blobs.size).toBe(1);
  });
});

describe("ollmlx create", () => {
  test("FROM ./file.gguf: the file is hashed, uploaded to /api/blobs/<digest>, and created with `files`", async () => {
    const d = dir();
    const weights = tinyGguf(15);
    writeFileSync(join(d, "model.gguf"), weights);
    writeFileSync(join(d, "Modelfile"), "FROM ./model.gguf\nPARAMETER temperature 0.2\n");
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(weights).digest("hex")}`;
    const r = await cli(s.host, ["create", "mario", "-f", join(d, "Modelfile")]);
    expect(r.stderr).toContain(`copying file ${digest} 100%`);
    expect(r.code).toBe(0);
    expect(blobUploads().at(-1)).toEqual({ method: "POST", path: `/api/blobs/${digest}`, body: weights.length });
    expect(s.tap.last("/api/create")).toEqual({ model: "mario", files: { "model.gguf": digest }, parameters: { temperature: 0.2 } });
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("gathering model components");
    expect(lines.slice(-2)).toEqual(["writing manifest", "success"]);
    expect((await cli(s.host, ["show", "mario", "--parameters"])).stdout).toMatch(/^temperature +0\.2\n$/);

    // a second create finds the blob there (HEAD 200) and does not upload it again
    const uploads = blobUploads().length;
    expect((await cli(s.host, ["create", "mario2", "-f", join(d, "Modelfile")])).code).toBe(0);
    expect(blobUploads().length).toBe(uploads);
    expect((await cli(s.host, ["list"])).stdout).toContain("\nmario2:latest ");
  });

  test("./Modelfile is the default; FROM an existing model sends `from`", async () => {
    const d = dir();
    writeFileSync(join(d, "Modelfile"), 'FROM tiny\nSYSTEM "Be terse."\n');
    const r = await cli(s.host, ["create", "terse"], { cwd: d });
    expect(r.code).toBe(0);
    expect(s.tap.last("/api/create")).toEqual({ model: "terse", from: "tiny", system: "Be terse." });
    expect((await cli(s.host, ["show", "terse", "--system"])).stdout).toStartWith("Be terse.");
  });

  test("a missing -f file, a Modelfile error, a server error: one line each, exit 1", async () => {
    expect(await cli(s.host, ["create", "x", "-f", "/nonexistent/Modelfile"])).toMatchObject({
      code: 1,
      stderr: "Error: specified Modelfile wasn't found\n",
    });
    const d = dir();
    writeFileSync(join(d, "Modelfile"), "FROM tiny\nPARAMETER nope 1\n");
    const bad = await cli(s.host, ["create", "x"], { cwd: d });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trimEnd().split("\n").at(-1)).toBe("Error: unknown parameter 'nope'");
    writeFileSync(join(d, "Modelfile"), "FROM ghost\n");
    const r = await cli(s.host, ["create", "x"], { cwd: d });
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toMatch(/^Error: [^\n]*ghost[^\n]*$/);
    expect((await cli(s.host, ["list"])).stdout).not.toContain("\nx:latest");
  });
});
