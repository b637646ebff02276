// The FFI boundary under stress (issue 20): the child process in stress/boundary.ts must end normally, with
// every value it read back right and no handle left behind. Before out.ts, it died by SIGSEGV in its first
// phase on every run, as the suite once did at random.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SRC = join(import.meta.dir, "../../src");

test("the FFI boundary hammered (out-parameters after JIT tier-up, GC forced, 2000 rounds) does not crash or leak", async () => {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "stress/boundary.ts"), "2000"], { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  expect({ signal: proc.signalCode, code, err: err.slice(-2000) }).toEqual({ signal: null, code: 0, err: "" });
  const report = JSON.parse(out.trim()) as { rounds: number; ops: number; live0: number; live1: number };
  expect(report.rounds).toBe(2000);
  expect(report.live1).toBe(report.live0);
});

test("pointers into JS memory are taken only in src/ffi/out.ts, whose buffers never move", () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith(".ts") && path !== join(SRC, "ffi/out.ts") && /\bptr\(/.test(readFileSync(path, "utf8"))) offenders.push(path);
    }
  };
  walk(SRC);
  expect(offenders).toEqual([]);
});
