// The API explorer in a real browser: headless Chromium (Debian's `chromium`, installed by scripts/setup.sh --oracle)
// loads /swagger with every host but the test server unresolvable, so it works only if its assets are served
// locally; swagger-ui must render an operation block for every operation of /openapi.json. A screenshot is kept in
// test-results/swagger.png for a person to look at.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startServer, type TestServer } from "./harness.ts";

const SCREENSHOT = join(import.meta.dir, "../../test-results/swagger.png");

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

/**
 * Runs headless Chromium on /swagger with `extra` flags; returns its stdout. Fails clearly if it is missing.
 * Asynchronous: the server answers from this same process, so a blocking spawn would starve it.
 */
async function chromium(extra: string[]): Promise<string> {
  if (!Bun.which("chromium")) throw new Error("chromium is not installed: run `bash scripts/setup.sh --oracle` (make test does)");
  const run = Bun.spawn(
    [
      "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,4000",
      // swagger-ui fetches /openapi.json and renders asynchronously: give it (virtual) time to finish
      "--virtual-time-budget=15000",
      // offline: any host other than the test server fails to resolve
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
      ...extra, `${server.url}/swagger`,
    ],
    { stdout: "pipe", stderr: "pipe", timeout: 120_000 },
  );
  const [stdout, stderr, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
  if (code !== 0) throw new Error(`chromium exited ${code}: ${stderr.slice(-2000)}`);
  return stdout;
}

describe("Swagger UI in headless Chromium", () => {
  test("renders an operation block for every operation in /openapi.json", async () => {
    const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(spec.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(documented.length).toBeGreaterThan(15);

    const dom = await chromium(["--dump-dom"]);
    // each operation block: <span class="opblock-summary-method">POST</span> ... data-path="/api/generate"
    const rendered = [...dom.matchAll(/opblock-summary-method">(\w+)<[\s\S]*?data-path="([^"]+)"/g)]
      .map((m) => `${m[1]} ${m[2]}`)
      .sort();
    expect(rendered).toEqual(documented);
    expect(dom).toContain("ollmlx");
  }, 180_000);

  test("a full-page screenshot is written and is not blank", async () => {
    mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
    rmSync(SCREENSHOT, { force: true });
    await chromium([`--screenshot=${SCREENSHOT}`]);
    const png = readFileSync(SCREENSHOT);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR: width and height, big-endian, at bytes 16..24
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1280, 4000]);
    // a blank 1280x4000 page compresses to a few KiB; ~20 rendered operation blocks take far more
    expect(png.byteLength).toBeGreaterThan(50_000);
    console.log(`swagger screenshot: ${SCREENSHOT}`);
  }, 180_000);
});
