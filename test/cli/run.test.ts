// `ollmlx run MODEL PROMPT` and piped stdin, against a stub of the server's HTTP: streamed output, the request's
// fields from the flags, --verbose timings, thinking, pulling a model that is not here.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cli, spawnCli } from "./cli.ts";
import { startStub, type Stub } from "./stub-server.ts";

let stub: Stub;
beforeAll(() => {
  stub = startStub();
});
afterAll(() => stub.close());

const lastBody = (path: string) => stub.requests.filter((r) => r.path === path).at(-1)?.body as Record<string, unknown>;

describe("run, one prompt", () => {
  test("prints the answer followed by a blank line, exit 0", async () => {
    const r = await cli(stub.url, ["run", "llama3.2", "hello", "there"]);
    expect(r).toMatchObject({ code: 0, stdout: "You said: hello there\n\n", stderr: "" });
    expect(lastBody("/api/generate")).toEqual({ model: "llama3.2", prompt: "hello there" });
  });

  test("output is streamed: the first token shows before the server has sent the rest", async () => {
    const proc = spawnCli(stub.url, ["run", "gated", "go"]);
    const reader = proc.stdout.getReader();
    let seen = "";
    while (!seen.includes("first")) seen += new TextDecoder().decode((await reader.read()).value);
    expect(seen).not.toContain("second"); // the stub holds the rest until the gate opens
    stub.openGate();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toBe("first second third\n\n");
    expect(await proc.exited).toBe(0);
  });

  test("piped stdin is the prompt, with the arguments after it", async () => {
    const r = await cli(stub.url, ["run", "llama3.2"], { input: "summarize this\n" });
    expect(r).toMatchObject({ code: 0, stdout: "You said: summarize this\n\n" });
    expect(lastBody("/api/generate").prompt).toBe("summarize this\n");
    await cli(stub.url, ["run", "llama3.2", "in French"], { input: "text" });
    expect(lastBody("/api/generate").prompt).toBe("text in French");
  });

  test("--verbose prints Ollama's timing block on stderr", async () => {
    const r = await cli(stub.url, ["run", "llama3.2", "hi", "--verbose"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("You said: hi\n\n");
    expect(r.stderr).toBe(
      [
        "total duration:       1.234567891s",
        "load duration:        12.345678ms",
        "prompt eval count:    26 token(s)",
        "prompt eval duration: 130ms",
        "prompt eval rate:     200.00 tokens/s",
        "eval count:           298 token(s)",
        "eval duration:        4.567890123s",
        "eval rate:            65.24 tokens/s",
        "",
      ].join("\n"),
    );
  });

  test("--format json, --keepalive, --think and --think=low go into the request as Ollama sends them", async () => {
    await cli(stub.url, ["run", "llama3.2", "hi", "--format", "json", "--keepalive", "10m", "--think"]);
    expect(lastBody("/api/generate")).toMatchObject({ format: "json", keep_alive: "10m0s", think: true });
    await cli(stub.url, ["run", "llama3.2", "hi", "--think=low", "--keepalive=-1s"]);
    expect(lastBody("/api/generate")).toMatchObject({ think: "low", keep_alive: -1 });
    await cli(stub.url, ["run", "llama3.2", "hi", "--format", '{"type":"object"}']);
    expect(lastBody("/api/generate").format).toEqual({ type: "object" });
  });

  test("bad --keepalive and --think values are one error line", async () => {
    expect(await cli(stub.url, ["run", "llama3.2", "hi", "--keepalive", "soon"])).toMatchObject({
      code: 1,
      stderr: 'Error: time: invalid duration "soon"\n',
    });
    const think = await cli(stub.url, ["run", "llama3.2", "hi", "--think=lots"]);
    expect(think.code).toBe(1);
    expect(think.stderr).toStartWith('Error: invalid value for --think: "lots"');
  });

  test("a thinking model: thinking between Thinking... and ...done thinking., unless --hidethinking", async () => {
    const r = await cli(stub.url, ["run", "qwen3:0.6b", "hi"]);
    expect(r.stdout).toBe("Thinking...\nLet me think. Done.\n...done thinking.\n\nYou said: hi\n\n");
    expect(lastBody("/api/generate").think).toBe(true); // on by default for a model that can think
    const hidden = await cli(stub.url, ["run", "qwen3:0.6b", "hi", "--hidethinking"]);
    expect(hidden.stdout).toBe("You said: hi\n\n");
  });

  test("a model that is not here is pulled first, then run", async () => {
    const r = await cli(stub.url, ["run", "newmodel", "hi"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("pulling manifest");
    expect(r.stderr).toContain("success");
    expect(r.stdout).toBe("You said: hi\n\n");
    const paths = stub.requests.map((q) => q.path);
    expect(paths.lastIndexOf("/api/pull")).toBeLessThan(paths.lastIndexOf("/api/generate"));
  });

  test("a model that cannot be pulled: the pull's error, exit 1", async () => {
    const r = await cli(stub.url, ["run", "missing-model", "hi"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("pulling manifest");
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe("Error: pull model manifest: file does not exist");
  });

  test("SIGINT during an answer stops it: the request is cancelled and the CLI exits 0", async () => {
    const before = stub.aborted.length;
    const proc = spawnCli(stub.url, ["run", "slow", "go"]);
    const reader = proc.stdout.getReader();
    let seen = "";
    while (!seen.includes("word2")) seen += new TextDecoder().decode((await reader.read()).value);
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(0);
    await Bun.sleep(100);
    expect(stub.aborted.length).toBe(before + 1);
  });
});
