// Progress for pull/create in Ollama's look: the bar's layout, the lines a pull leaves in a log, and the live bar
// redrawn in place on a terminal, pulling from a local Ollama registry through the real server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Bar, Spinner } from "../../src/cli/progress.ts";
import { humanBytes, humanDuration, humanTime } from "../../src/cli/format.ts";
import { MEDIA } from "../../src/store/store.ts";
import { FakeRegistry, sha256, text, tinyGguf } from "../store/fake-servers.ts";
import { cli, PtySession } from "./cli.ts";
import { startCliServer, type CliServer } from "./real-server.ts";

let s: CliServer;
let registry: FakeRegistry;
const GGUF = tinyGguf(15);
/** another model file, so that its pull downloads it rather than finding GGUF's blob already there */
const SLOW_GGUF = tinyGguf(16);
beforeAll(async () => {
  s = await startCliServer();
  registry = new FakeRegistry();
  const config = text(JSON.stringify({ model_format: "gguf", model_family: "llama", model_families: ["llama"], model_type: "16", file_type: "Q4_K_M" }));
  for (const [repo, model] of [["library/tiny", GGUF], ["library/slowpull", SLOW_GGUF]] as const) {
    registry.publish(repo, "latest", config, [{ mediaType: MEDIA.model, bytes: model }, { mediaType: MEDIA.license, bytes: text("MIT") }]);
  }
}, 120_000);
afterAll(async () => {
  registry.stop();
  await s.close();
});

describe("sizes and times", () => {
  test("humanBytes: decimal units, one decimal under 10, none from 10", () => {
    expect([512, 1000, 1500, 91_739_413, 2_019_393_189, 12_500_000_000, 1.2e12].map(humanBytes)).toEqual([
      "512 B",
      "1 KB",
      "1.5 KB",
      "91 MB",
      "2.0 GB",
      "12 GB",
      "1.2 TB",
    ]);
  });

  test("humanTime: ago, from now, Forever", () => {
    const now = Date.parse("2025-01-10T12:00:00Z");
    expect(humanTime("2025-01-10T11:58:00Z", "Never", now)).toBe("2 minutes ago");
    expect(humanTime("2025-01-10T12:04:30Z", "Never", now)).toBe("4 minutes from now");
    expect(humanTime("2025-01-10T11:59:59.5Z", "Never", now)).toBe("Less than a second ago");
    expect(humanTime("2318-03-02T10:00:00Z", "Never", now)).toBe("Forever");
    expect(humanTime(undefined, "Never", now)).toBe("Never");
    expect(humanDuration(3_600_000 * 30)).toBe("30 hours");
    expect(humanDuration(3_600_000 * 24 * 3)).toBe("3 days");
  });
});

describe("the bar", () => {
  test("mid-download: percent, bar, done/total, rate and time left on an 80-column line", () => {
    const t0 = 1_000_000;
    const bar = new Bar("pulling dde5aa3fc5ff:", 2_600_000_000, 0, t0);
    bar.set(600_000_000, t0 + 1000);
    bar.set(1_200_000_000, t0 + 2000);
    const line = bar.render(80);
    expect(line).toBe("pulling dde5aa3fc5ff:  46% ▕████████          ▏ 1.2 GB/2.6 GB  600 MB/s      2s");
    expect([...line].length).toBe(79);
  });

  test("a finished bar keeps the total only; a spinner stops spinning when stopped", () => {
    const bar = new Bar("pulling dde5aa3fc5ff:", 2_019_377_376, 2_019_377_376);
    expect(bar.render(80)).toBe(`pulling dde5aa3fc5ff: 100% ▕${"█".repeat(18)}▏ 2.0 GB${" ".repeat(25)}`);
    const spinner = new Spinner("pulling manifest");
    expect(spinner.render(80, Date.now())).toMatch(/^pulling manifest [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] $/);
    spinner.stop();
    expect(spinner.render(80, Date.now())).toBe("pulling manifest ");
  });
});

describe("pull", () => {
  test("pull to a pipe: each line once, when done (manifest, a bar per layer, verifying, writing, success)", async () => {
    const name = `${registry.host}/library/tiny`;
    const r = await cli(s.host, ["pull", name, "--insecure"]);
    expect(r).toMatchObject({ code: 0, stdout: "" });
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("pulling manifest");
    expect(lines).toContain(`pulling ${sha256(GGUF).slice(0, 12)}: 100% ▕${"█".repeat(18)}▏  ${GGUF.length} B`);
    expect(lines.slice(1, -3).every((l) => /^pulling [0-9a-f]{12}: 100% ▕█{18}▏ +\d+ B$/.test(l))).toBe(true);
    expect(lines.length).toBe(7); // manifest, model, license, config, verifying, writing, success
    expect(lines.slice(-3)).toEqual(["verifying sha256 digest", "writing manifest", "success"]);
    expect(s.tap.last("/api/pull")).toEqual({ model: name, insecure: true });
    expect((await cli(s.host, ["list"])).stdout).toContain(`\n${name}:latest `);
  });

  test("pull on a terminal: the bar is drawn in place while it moves, and every line stays at the end", async () => {
    registry.storage.faults.set(sha256(SLOW_GGUF), { slow: { chunk: 16, delayMs: 100 } });
    try {
      const pty = new PtySession(s.host, ["pull", `${registry.host}/library/slowpull`, "--insecure"]);
      await pty.waitFor(/pulling [0-9a-f]{12}: +[1-9]\d?% ▕█* +▏ +\d+ B\/ *\d+ B/, 0, 30_000);
      expect(await pty.exit(60_000)).toBe(0);
      expect(pty.output).toContain("\x1b[1A"); // redrawn: the cursor goes back up over the lines
      expect(pty.text).toMatch(/pulling manifest \n(pulling [0-9a-f]{12}: 100% ▕█+▏ +\d+ B\s+\n){3}verifying sha256 digest \nwriting manifest \nsuccess \n$/);
    } finally {
      registry.storage.faults.clear();
    }
  }, 60_000);

  test("a name the registry does not have: the server's error as the last line, exit 1", async () => {
    const r = await cli(s.host, ["pull", `${registry.host}/library/ghost`, "--insecure"]);
    expect(r).toEqual({ code: 1, stdout: "", stderr: "pulling manifest\nError: pull model manifest: file does not exist\n" });
  });
});
