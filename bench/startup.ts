// The standalone binary's size and cold start: from exec of `ollmlx serve` (dist/ copied out of the repo) to the
// first answer of GET /api/version; the median of 5 runs, each a fresh process on a fresh port. Target: < 150 ms.
//
//   node_modules/.bin/bun bench/startup.ts [--runs N]     (builds dist/ first: scripts/build-binary.sh)
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDist, copyDist, freePort, userEnv, waitForVersion } from "../test/binary/dist.ts";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const dir = copyDist(buildDist());
const models = mkdtempSync(join(tmpdir(), "ollmlx-startup-models-"));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const binaryBytes = statSync(join(dir, "ollmlx")).size;
const du = Bun.spawnSync(["du", "-sb", dir]).stdout.toString();
const distBytes = Number(du.split("\t")[0]);

const samples: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const host = `127.0.0.1:${freePort()}`;
  const start = performance.now();
  const server = Bun.spawn([join(dir, "ollmlx"), "serve"], { cwd: tmpdir(), env: userEnv(host, models), stdout: "ignore", stderr: "ignore" });
  await waitForVersion(`http://${host}`, 10_000, 1);
  samples.push(performance.now() - start);
  server.kill();
  await server.exited;
}
rmSync(dir, { recursive: true, force: true });
rmSync(models, { recursive: true, force: true });

const sorted = [...samples].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
console.log(`binary      ${mib(binaryBytes)} (dist/ with shim and MLX: ${mib(distBytes)})`);
console.log(`cold start  median ${median.toFixed(1)} ms over ${RUNS} runs [${samples.map((s) => s.toFixed(1)).join(", ")}] (exec -> /api/version)`);
console.log(median < 150 ? "target < 150 ms: met" : "target < 150 ms: MISSED");
