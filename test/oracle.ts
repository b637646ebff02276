// The Python oracle (mlx + mlx-lm, same MLX version) for tests: run a script, get JSON back.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const REPO_ROOT = join(import.meta.dir, "..");

export function oraclePath(): string {
  const file = join(REPO_ROOT, ".deps", "oracle-path");
  if (!existsSync(file)) throw new Error("the test oracle is not installed: run `bash scripts/setup.sh --oracle` (make test does)");
  return readFileSync(file, "utf8").trim();
}

/** Runs python code with the oracle on PYTHONPATH; `input` arrives as JSON on stdin; prints JSON back. */
export function runOracle<T>(code: string, input: unknown = null): T {
  const r = Bun.spawnSync(["python3", "-c", code], {
    env: { ...process.env, PYTHONPATH: oraclePath() },
    stdin: new TextEncoder().encode(JSON.stringify(input)),
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`oracle failed: ${r.stderr.toString()}`);
  const lines = r.stdout.toString().trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** The folder setup.sh --oracle installs a pinned .deps package into (e.g. "mlx-embeddings-0.1.0"). */
export function oracleDep(name: string): string {
  const dir = join(REPO_ROOT, ".deps", name);
  if (!existsSync(join(dir, ".complete"))) throw new Error(`.deps/${name} is not installed: run \`bash scripts/setup.sh --oracle\``);
  return dir;
}

/** Runs a python script with the oracle (and `extra` folders) on PYTHONPATH; JSON in on stdin, JSON out. */
export function runOracleScript<T>(script: string, input: unknown, extra: string[] = []): T {
  const r = Bun.spawnSync(["python3", script], {
    env: { ...process.env, PYTHONPATH: [oraclePath(), ...extra].join(":") },
    stdin: new TextEncoder().encode(JSON.stringify(input)),
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`oracle ${script} failed: ${r.stderr.toString()}`);
  const lines = r.stdout.toString().trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as T;
}
