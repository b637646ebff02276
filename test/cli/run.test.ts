// `ollmlx run MODEL PROMPT` and piped stdin against the real server: the streamed answer, the request's fields from
// the flags, --verbose timings, Ctrl-C cancelling at the server, and a model that is not here pulled first from a
// local Ollama registry.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { AnswerPrinter } from "../../src/cli/answer.ts";
import { post, type TestServer } from "../routes/harness.ts";
import { FakeRegistry } from "../store/fake-servers.ts";
import { cli, PtySession, spawnCli } from "./cli.ts";
import { SHORT, startCliServer, startEmptyServer, type CliServer } from "./real-server.ts";
import { wiretap, type Wiretap } from "./wiretap.ts";

let s: CliServer;
let host: string;
beforeAll(async () => {
  s = await startCliServer();
  host = s.host;
}, 120_000);
afterAll(() => s.close());

/** The server's own answer to the same request, asked directly. */
async function serverAnswer(model: string, prompt: string): Promise<string> {
  const res = await post(s.server.url, "/api/generate", { model, prompt, think: true, stream: false });
  return ((await res.json()) as { response: string }).response;
}

describe("run, one prompt", () => {
  test("prints the server's answer followed by a blank line, exit 0", async () => {
    const r = await cli(host, ["run", SHORT, "hello", "there"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(s.tap.last("/api/generate")).toEqual({ model: SHORT, prompt: "hello there", think: true });
    // short has a seed: the same request answers the same text
    const answer = await serverAnswer(SHORT, "hello there");
    expect(answer.length).toBeGreaterThan(0);
    expect(r.stdout).toBe(`${answer}\n\n`);
  }, 60_000);

  test("output is streamed, and SIGINT mid-answer cancels the request at the server and exits 0", async () => {
    const hangupsBefore = s.tap.hangups.length;
    // tiny has no num_predict: it would write 10 × its 4096-token context (minutes here)
    const proc = spawnCli(host, ["run", "tiny", "go"]);
    const reader = proc.stdout.getReader();
    let seen = "";
    while (seen.length < 20) seen += new TextDecoder().decode((await reader.read()).value);
    expect(proc.exitCode).toBeNull(); // text arrived while the answer was still being generated
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(0);
    await Bun.sleep(200);
    expect(s.tap.hangups.slice(hangupsBefore)).toEqual(["/api/generate"]);
    // the runner is free again: the next prompt answers at once
    const started = performance.now();
    expect((await cli(host, ["run", SHORT, "next"])).code).toBe(0);
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 60_000);

  test("piped stdin is the prompt, with the arguments after it", async () => {
    const r = await cli(host, ["run", SHORT], { input: "summarize this\n" });
    expect(r.code).toBe(0);
    expect(s.tap.last("/api/generate").prompt).toBe("summarize this\n");
    expect(r.stdout).toBe(`${await serverAnswer(SHORT, "summarize this\n")}\n\n`);
    expect((await cli(host, ["run", SHORT, "in French"], { input: "text" })).code).toBe(0);
    expect(s.tap.last("/api/generate").prompt).toBe("text in French");
  }, 60_000);

  test("--verbose prints Ollama's timing block on stderr, counts from the server", async () => {
    const r = await cli(host, ["run", SHORT, "hi", "--verbose"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toEndWith("\n\n");
    const d = String.raw`\d+(\.\d+)?(µs|ms|s|m\d+(\.\d+)?s)`;
    expect(r.stderr).toMatch(
      new RegExp(
        `^total duration: {7}${d}\nload duration: {8}${d}\nprompt eval count: {4}\\d+ token\\(s\\)\nprompt eval duration: ${d}\n` +
          `prompt eval rate: {5}\\d+\\.\\d\\d tokens/s\neval count: {11}8 token\\(s\\)\neval duration: {8}${d}\neval rate: {12}\\d+\\.\\d\\d tokens/s\n$`,
      ),
    );
  }, 60_000);

  test("--format, --keepalive and --think go into the request as Ollama sends them", async () => {
    // Constrained decoding is the server's business: whatever it answers, the flag was sent, and any refusal is one line.
    const json = await cli(host, ["run", SHORT, "hi", "--format", "json"]);
    expect(s.tap.last("/api/generate").format).toBe("json");
    if (json.code !== 0) expect(json.stderr).toMatch(/^Error: [^\n]+\n$/);
    await cli(host, ["run", SHORT, "hi", "--format", '{"type":"object"}']);
    expect(s.tap.last("/api/generate").format).toEqual({ type: "object" });

    expect((await cli(host, ["run", SHORT, "hi", "--keepalive", "10m", "--think"])).code).toBe(0);
    expect(s.tap.last("/api/generate")).toMatchObject({ keep_alive: "10m0s", think: true });
    expect((await cli(host, ["ps"])).stdout).toMatch(/\nshort:latest\s.*\s(9|10) minutes from now\s*\n/);
    await cli(host, ["run", SHORT, "hi", "--think=low", "--keepalive=-1s"]);
    expect(s.tap.last("/api/generate")).toMatchObject({ think: "low", keep_alive: -1 });
    expect((await cli(host, ["run", SHORT, "hi", "--think=false"])).code).toBe(0);
    expect(s.tap.last("/api/generate").think).toBe(false);
  }, 60_000);

  test("bad --keepalive and --think values are one error line, nothing sent", async () => {
    const before = s.tap.requests.length;
    expect(await cli(host, ["run", SHORT, "hi", "--keepalive", "soon"])).toMatchObject({ code: 1, stderr: 'Error: time: invalid duration "soon"\n' });
    const think = await cli(host, ["run", SHORT, "hi", "--think=lots"]);
    expect(think.code).toBe(1);
    expect(think.stderr).toBe('Error: invalid value for --think: "lots" (must be true, false, high, medium, or low)\n');
    expect(s.tap.requests.slice(before).filter((r) => r.path === "/api/generate")).toEqual([]);
  });

  test("on a terminal the answer is word-wrapped to its width; --nowordwrap leaves it to the terminal", async () => {
    await s.create("wordy", { from: "tiny", parameters: { num_predict: 60, seed: 5 } });
    const answer = await serverAnswer("wordy", "go");
    const wrapped = new PtySession(host, ["run", "wordy", "go"], {}, 30);
    expect(await wrapped.exit(60_000)).toBe(0);
    const unwrapped = new PtySession(host, ["run", "wordy", "go", "--nowordwrap"], {}, 30);
    expect(await unwrapped.exit(60_000)).toBe(0);
    // the wrapper breaks the line itself: back over the partial word, clear to the end, new line (\r\n: the pty's)
    expect(wrapped.output).toMatch(/\x1b\[\d+D\x1b\[K\r\n/);
    expect(unwrapped.output).not.toContain("\x1b[K\r\n");
    const spaced = (t: string) => t.replace(/\s+/g, "");
    expect(spaced(unwrapped.text)).toContain(spaced(answer));
  }, 60_000);
});

describe("thinking", () => {
  test("thinking is printed between Thinking... and ...done thinking., or not at all when hidden", () => {
    // The random-weight model never opens a think block, so the printer is given one directly.
    const print = (hideThinking: boolean) => {
      let out = "";
      const printer = new AnswerPrinter({ hideThinking, wordWrap: false }, true, (t) => (out += t));
      for (const [thinking, content] of [["Let me think.", ""], [" Done.", ""], [undefined, "Hi"], [undefined, " there"]] as const) printer.add(thinking, content);
      return out;
    };
    expect(print(false)).toBe("Thinking...\nLet me think. Done.\n...done thinking.\n\nHi there");
    expect(print(true)).toBe("Hi there");
  });
});

describe("a model that is not here", () => {
  // `short` published in a local Ollama registry byte for byte (manifest and blobs, read from the first server's
  // store), pulled by a second real server whose store is empty: every layer is downloaded.
  let registry: FakeRegistry;
  let empty: TestServer;
  let emptyTap: Wiretap;
  beforeAll(async () => {
    registry = new FakeRegistry();
    const source = s.server.store.get(`${SHORT}:latest`);
    for (const layer of [source.manifest.config, ...source.manifest.layers]) {
      registry.storage.add(new Uint8Array(readFileSync(s.server.store.blobPath(layer.digest))));
    }
    registry.manifests.set("library/short:latest", new Uint8Array(readFileSync(s.server.store.manifestPath(source.name))));
    empty = await startEmptyServer();
    emptyTap = wiretap(empty.url);
  });
  afterAll(async () => {
    emptyTap.close();
    registry.stop();
    await empty.close();
  });

  test("is pulled first (a bar per layer on stderr), then run; it is listed afterwards", async () => {
    const name = `${registry.host}/library/short`;
    const r = await cli(emptyTap.url, ["run", name, "hi", "--insecure"]);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("pulling manifest");
    const layers = s.server.store.get(`${SHORT}:latest`).manifest.layers;
    for (const layer of layers) expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^pulling ${layer.digest.slice(7, 19)}: 100% ▕█+▏ +\\S+ [KM]?B$`)));
    expect(lines.slice(-3)).toEqual(["verifying sha256 digest", "writing manifest", "success"]);
    expect(r.code).toBe(0);
    // the same model with the same seed: the answer the first server gives
    expect(r.stdout).toBe(`${await serverAnswer(SHORT, "hi")}\n\n`);
    const paths = emptyTap.requests.map((q) => q.path);
    expect(paths.indexOf("/api/pull")).toBeLessThan(paths.indexOf("/api/generate"));
    expect(emptyTap.last("/api/pull")).toEqual({ model: name, insecure: true });
    expect(registry.storage.log.length).toBe(layers.length + 1); // every blob and the config came from the registry
    expect((await cli(emptyTap.url, ["list"])).stdout).toContain(`\n${name}:latest `);
  }, 120_000);

  test("one that cannot be pulled: the pull's error as the last line, exit 1", async () => {
    const r = await cli(emptyTap.url, ["run", `${registry.host}/library/ghost`, "hi", "--insecure"]);
    expect(r).toEqual({ code: 1, stdout: "", stderr: "pulling manifest\nError: pull model manifest: file does not exist\n" });
  });
});
