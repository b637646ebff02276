#!/usr/bin/env bun
// Rewrites README.md's benchmark table (between <!-- bench:begin --> and <!-- bench:end -->, nothing else) from a
// results file: the latest full (non-smoke) run in bench/results/ unless one is named.
//   bun bench/readme.ts [bench/results/DATE-DEVICE.json]
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { ratioRows, type RatioRow } from "./lib/report.ts";
import { SYSTEM_LABELS, type BenchResults } from "./lib/types.ts";

const ROOT = join(import.meta.dir, "..");
const BEGIN = "<!-- bench:begin -->";
const END = "<!-- bench:end -->";

export function latestResults(dir = join(import.meta.dir, "results")): string | null {
  // Names start with the ISO date (DATE-DEVICE.json), so the last in sorted order is the newest.
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d{4}-\d\d-\d\d-[a-z]+\.json$/.test(f)).sort() : [];
  return files.length ? join(dir, files.at(-1)!) : null;
}

const num = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "–");

export function readmeTable(r: BenchResults, resultsPath: string): string {
  const ratios = new Map<string, RatioRow>(ratioRows(r.single).map((x) => [`${x.model}/${x.workload}/${x.ours}`, x]));
  const lines = [
    "`bun bench/run.ts` runs every system below in one go (`--smoke` for a quick check, `--device cuda` on a GPU machine); `bun bench/readme.ts` writes this table from its latest results.",
    "",
    `Measured ${r.date} on ${r.machine} (${r.device}); ${r.genTokens} generated tokens, greedy, median of up to ${r.reps}.`,
    `Full tables, spreads, memory and concurrency: [${basename(resultsPath, ".json")}.md](${relative(ROOT, resultsPath).replace(/\.json$/, ".md")}).`,
    "",
    "| model | prompt | system | prompt tok/s | gen tok/s | TTFT ms | ollmlx / peer (prompt, gen) |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const s of r.single) {
    const ratio = ratios.get(`${s.model}/${s.workload}/${s.system}`);
    const vs = ratio ? `${ratio.prompt}, ${ratio.gen} vs ${SYSTEM_LABELS[ratio.peer]}` : "";
    lines.push(`| ${s.model} | ${s.workload} (${s.promptTokens} tok) | ${SYSTEM_LABELS[s.system]} | ${num(s.promptTps.median)} | ${num(s.genTps.median)} | ${Number.isFinite(s.ttftMs.median) ? s.ttftMs.median.toFixed(0) : "–"} | ${vs} |`);
  }
  return lines.join("\n");
}

/** Replaces the marked region of README.md; throws if the markers are missing (they are added once, by hand). */
export function updateReadme(resultsPath: string, readmePath = join(ROOT, "README.md")): void {
  const readme = readFileSync(readmePath, "utf8");
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${readmePath} has no ${BEGIN} ... ${END} region`);
  const r = JSON.parse(readFileSync(resultsPath, "utf8")) as BenchResults;
  writeFileSync(readmePath, `${readme.slice(0, begin + BEGIN.length)}\n${readmeTable(r, resultsPath)}\n${readme.slice(end)}`);
}

if (import.meta.main) {
  const path = process.argv[2] ?? latestResults();
  if (!path) throw new Error("no bench/results/DATE-DEVICE.json yet: run bun bench/run.ts first");
  updateReadme(path);
  console.error(`README.md benchmark table from ${path}`);
}
