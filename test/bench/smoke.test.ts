// The benchmark suite end to end (bench/run.ts --smoke): every system really runs (ollmlx engine on MLX and GGUF,
// ollmlx serve, mlx-lm, mlx_lm.server, llama.cpp), and the report, JSON and chart come out with a row for each.
// No timing assertions: figures on a shared machine mean nothing, only that each system produced them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { updateReadme } from "../../bench/readme.ts";
import { SYSTEM_LABELS, type BenchResults, type SystemId } from "../../bench/lib/types.ts";

const ROOT = join(import.meta.dir, "../..");
const SYSTEMS = Object.keys(SYSTEM_LABELS) as SystemId[];
const out = mkdtempSync(join(tmpdir(), "ollmlx-bench-smoke-"));
let base = "";
let stderr = "";

beforeAll(async () => {
  const p = Bun.spawn([process.execPath, join(ROOT, "bench/run.ts"), "--smoke", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  stderr = await new Response(p.stderr).text();
  expect(await p.exited).toBe(0);
  base = join(out, `${new Date().toISOString().slice(0, 10)}-cpu-smoke`);
}, 600_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("bench/run.ts --smoke", () => {
  test("writes the markdown report, the JSON results and a PNG chart", () => {
    for (const ext of [".md", ".json", ".png"]) expect(existsSync(base + ext)).toBe(true);
    const png = readFileSync(`${base}.png`);
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(png.length).toBeGreaterThan(10_000);
  });

  test("every system produced a single-client row with tokens and rates, and no error", () => {
    const r = JSON.parse(readFileSync(`${base}.json`, "utf8")) as BenchResults;
    expect(r.smoke).toBe(true);
    expect([...new Set(r.single.map((s) => s.system))].sort()).toEqual([...SYSTEMS].sort());
    for (const s of r.single) {
      expect({ system: s.system, error: s.error }).toEqual({ system: s.system, error: undefined });
      expect(s.reps).toBeGreaterThanOrEqual(1);
      expect(s.promptTokens).toBeGreaterThan(0);
      expect(s.genTokens).toBeGreaterThan(0);
      expect(Number.isFinite(s.genTps.median) && s.genTps.median > 0).toBe(true);
      expect(Number.isFinite(s.ttftMs.median) && s.ttftMs.median > 0).toBe(true);
      expect(s.rssPeakMiB).toBeGreaterThan(10);
    }
    // MLX's own figures from the systems that expose them.
    for (const id of ["ollmlx-engine", "mlx-lm"]) expect(r.single.find((s) => s.system === id)!.mlxPeakMiB).toBeGreaterThan(0);
  });

  test("both servers ran the concurrency sweep at each client count", () => {
    const r = JSON.parse(readFileSync(`${base}.json`, "utf8")) as BenchResults;
    for (const system of ["ollmlx-http", "mlx_lm.server"]) {
      const rows = r.concurrency.filter((c) => c.system === system);
      expect(rows.map((c) => c.clients)).toEqual([1, 2]);
      for (const c of rows) {
        expect(c.error).toBeUndefined();
        expect(c.genTokens).toBeGreaterThanOrEqual(c.clients);
        expect(c.aggregateGenTps).toBeGreaterThan(0);
      }
    }
  });

  test("the report names every system and has a ratio row for each ollmlx system against its peer", () => {
    const md = readFileSync(`${base}.md`, "utf8");
    for (const id of SYSTEMS) expect(md).toContain(SYSTEM_LABELS[id]);
    const ratios = md.split("## ollmlx / peer")[1]!.split("## Concurrency")[0]!;
    expect(ratios.split("\n").filter((l) => /^\| SmolLM2-135M \| tiny \|.*×/.test(l))).toHaveLength(3);
    expect(md).toContain(`![throughput chart](${base.split("/").pop()}.png)`);
    expect(stderr).not.toContain("failed");
  });

  test("the README table is rewritten between its markers and nowhere else", () => {
    const readme = join(out, "README.md");
    const before = "# Title\n\ntext before\n\n<!-- bench:begin -->\nold table\n<!-- bench:end -->\n\ntext after\n";
    writeFileSync(readme, before);
    updateReadme(`${base}.json`, readme);
    const after = readFileSync(readme, "utf8");
    expect(after.startsWith("# Title\n\ntext before\n\n<!-- bench:begin -->\n")).toBe(true);
    expect(after.endsWith("<!-- bench:end -->\n\ntext after\n")).toBe(true);
    expect(after).not.toContain("old table");
    for (const id of SYSTEMS) expect(after).toContain(`| ${SYSTEM_LABELS[id]} |`);
    updateReadme(`${base}.json`, readme); // idempotent: a second run gives the same file
    expect(readFileSync(readme, "utf8")).toBe(after);
  });

  test("a README without the markers is refused, not rewritten", () => {
    const readme = join(out, "README-plain.md");
    writeFileSync(readme, "# no markers\n");
    expect(() => updateReadme(`${base}.json`, readme)).toThrow("bench:begin");
    expect(readFileSync(readme, "utf8")).toBe("# no markers\n");
  });
});

test("an unknown --device is refused with a clear message", () => {
  const r = Bun.spawnSync([process.execPath, join(ROOT, "bench/run.ts"), "--device", "tpu"], { cwd: ROOT, stderr: "pipe" });
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr.toString()).toContain("--device is cpu or cuda");
});
