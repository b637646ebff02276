// Progress for pull/push/create in Ollama's look: the bar's layout, the lines a pull leaves in a log, and the live
// bar redrawn in place on a terminal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Bar, Spinner } from "../../src/cli/progress.ts";
import { humanBytes, humanDuration, humanTime } from "../../src/cli/format.ts";
import { cli, PtySession } from "./cli.ts";
import { startStub, type Stub } from "./stub-server.ts";

let stub: Stub;
beforeAll(() => {
  stub = startStub();
});
afterAll(() => stub.close());

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

describe("pull and push", () => {
  test("pull to a pipe: each line once, when done (manifest, the layer's bar, verifying, writing, success)", async () => {
    const r = await cli(stub.url, ["pull", "llama3.2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("pulling manifest");
    expect(lines[1]).toMatch(/^pulling dde5aa3fc5ff: 100% ▕█+▏ 2\.0 GB$/);
    expect(lines.slice(2)).toEqual(["verifying sha256 digest", "writing manifest", "success"]);
    expect(stub.requests.filter((q) => q.path === "/api/pull").at(-1)!.body).toEqual({ model: "llama3.2" });
  });

  test("pull on a terminal: the bar is drawn in place while it moves, and every line stays at the end", async () => {
    const pty = new PtySession(stub.url, ["pull", "slowpull"]);
    await pty.waitFor(/pulling dde5aa3fc5ff:\s+25% ▕█+ +▏ 504 MB\/2\.0 GB/);
    expect(await pty.exit()).toBe(0);
    expect(pty.output).toContain("\x1b[1A"); // redrawn: the cursor goes back up over the lines
    const screen = pty.text;
    expect(screen).toMatch(/pulling dde5aa3fc5ff:\s+50% ▕/);
    expect(screen).toMatch(/pulling manifest \npulling dde5aa3fc5ff: 100% ▕█+▏ 2\.0 GB\s+\nverifying sha256 digest \nwriting manifest \nsuccess \n$/);
  });

  test("push shows pushing lines and success", async () => {
    const r = await cli(stub.url, ["push", "me/mymodel"]);
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("retrieving manifest");
    expect(lines[1]).toMatch(/^pushing 1234567890ab 100% ▕█+▏ {3}1 KB$/);
    expect(lines.slice(2)).toEqual(["pushing manifest", "success"]);
    expect(r.stdout).toContain("https://ollama.com/me/mymodel");
  });
});
