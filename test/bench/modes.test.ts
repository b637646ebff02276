// One entry point for the benchmarks (issue 19): every bench/*.ts is a mode of bench/run.ts, and `list` names them.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { MODES } from "../../bench/modes.ts";

const BENCH = join(import.meta.dir, "../../bench");

test("every benchmark script is a mode of bench/run.ts; `list` names each; an unknown mode is an error", () => {
  const scripts = readdirSync(BENCH).filter((f) => f.endsWith(".ts") && !["run.ts", "readme.ts", "modes.ts"].includes(f)).map((f) => f.slice(0, -3));
  expect(Object.keys(MODES).sort()).toEqual(scripts.sort());
  const list = Bun.spawnSync([process.execPath, join(BENCH, "run.ts"), "list"], { stdout: "pipe" });
  expect(list.exitCode).toBe(0);
  const listed = list.stdout.toString();
  for (const m of scripts) expect(listed).toContain(`bun bench/run.ts ${m} `);
  expect(Bun.spawnSync([process.execPath, join(BENCH, "run.ts"), "no-such-bench"], { stdout: "pipe" }).exitCode).toBe(2);
});
