// The compiled ollmlx as a user gets it: dist/ built by scripts/build-binary.sh, copied to a folder with no repo
// around it. Shared by test/binary and bench/startup.ts.
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "../..");

/**
 * Runs scripts/build-binary.sh (incremental: the relocatable shim is rebuilt only when its sources change) into
 * `dist` (default dist/; another folder lets two test files build at once without writing the same file).
 */
export function buildDist(dist: string = join(ROOT, "dist")): string {
  const env = { ...process.env, OLLMLX_DIST: dist };
  const build = Bun.spawnSync(["bash", join(ROOT, "scripts/build-binary.sh")], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`scripts/build-binary.sh failed:\n${build.stderr.toString()}`);
  return dist;
}

/** A copy of dist/ in a fresh temp folder outside the repo; returns the folder. */
export function copyDist(dist: string): string {
  const dir = mkdtempSync(join(tmpdir(), "ollmlx-dist-"));
  cpSync(dist, dir, { recursive: true, filter: (src) => !src.includes("darwin-arm64") });
  return dir;
}

/**
 * The environment of a user's shell: nothing that points into the repo (OLLMLX_SHIM, LD_LIBRARY_PATH), the server
 * at `host`, models under `models`.
 */
export function userEnv(host: string, models: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(OLLMLX_|OLLAMA_|LD_LIBRARY_PATH$|LD_PRELOAD$|DYLD_)/.test(k)) env[k] = v;
  }
  return { ...env, OLLAMA_HOST: host, OLLMLX_MODELS: models };
}

/** A TCP port nothing listens on right now. */
export function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/** Polls GET /api/version until it answers; returns the version, or throws after `timeoutMs`. */
export async function waitForVersion(url: string, timeoutMs: number, pollMs = 2): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/version`);
      if (res.ok) return ((await res.json()) as { version: string }).version;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${url} did not answer /api/version within ${timeoutMs} ms`);
    await Bun.sleep(pollMs);
  }
}
