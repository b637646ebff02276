// Schema-driven fuzzing: schemathesis reads /openapi.json and sends examples, boundary values, wrong types and
// random bodies to every documented route of a real server (real runners, the tiny model). It fails on any 5xx
// (not_a_server_error) and on any error body that is not Ollama's shape (the ollama_error_body check in
// fixtures/fuzz_checks.py); afterwards the server must still answer.
// Left out: /api/pull and /api/push, which reach for a remote registry (the store tests cover them against local
// registries). /api/delete, /api/create and /api/copy run, with the hooks keeping the test model alive.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

const ROOT = join(import.meta.dir, "../..");
const EXCLUDED = ["/api/pull", "/api/push"];
// A fixed seed and a bounded number of examples per route: the same ~3000 requests every run, ~1 minute.
const SEED = "20261130";
const EXAMPLES = "25";

function schemathesisPath(): string {
  const file = join(ROOT, ".deps", "schemathesis-path");
  if (!existsSync(file)) throw new Error("schemathesis is not installed: run `bash scripts/setup.sh --oracle` (make test does)");
  return readFileSync(file, "utf8").trim();
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

test("fuzzing every route from /openapi.json finds no 5xx and no error body outside Ollama's shapes", async () => {
  const deps = schemathesisPath();
  const fixtures = join(import.meta.dir, "fixtures");
  const args = [
    "run", `${server.url}/openapi.json`, "--url", server.url,
    "--checks", "not_a_server_error,ollama_error_body",
    ...EXCLUDED.flatMap((path) => ["--exclude-path", path]),
    "--max-examples", EXAMPLES, "--seed", SEED, "--workers", "1",
    "--request-timeout", "60", "--generation-database", "none", "--no-color",
  ];
  // a scratch working directory: schemathesis and hypothesis keep caches there, which must not replay between runs
  const scratch = mkdtempSync(join(tmpdir(), "ollmlx-fuzz-"));
  const run = Bun.spawn(["python3", join(deps, "bin", "st"), ...args], {
    cwd: scratch,
    env: { ...process.env, PYTHONPATH: `${deps}:${fixtures}`, SCHEMATHESIS_HOOKS: "fuzz_checks" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
  rmSync(scratch, { recursive: true, force: true });
  const report = stdout + stderr;
  if (code !== 0) console.error(report);
  expect(report).toContain("Test cases:");
  const generated = Number(/(\d+) generated/.exec(report)?.[1] ?? 0);
  // every operation was reached, many times (a run that silently tested nothing must not pass)
  expect(generated).toBeGreaterThan(1000);
  expect(report).not.toMatch(/Selected: (\d+)\/\d+[\s\S]*Tested: (?!\1\b)/);
  expect(code).toBe(0);

  // the server survived it: it still serves the test model
  const after = await post(server.url, "/api/generate", { model: TINY, prompt: "hi", stream: false, options: { num_predict: 2 } });
  expect(after.status).toBe(200);
  expect(((await after.json()) as { done: boolean }).done).toBe(true);
}, 600_000);
