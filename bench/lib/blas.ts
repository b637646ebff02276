// Runners preload an optimized BLAS (src/engine/cpu-backend.ts). A benchmark process that runs the engine itself
// must run on the same BLAS, and LD_PRELOAD only takes effect at exec: so it re-runs itself under the runners'
// environment, once.
import { OLLMLX_BLAS_PRELOADED } from "../../src/config/settings.ts";
import { optimizedBlas, runnerEnv } from "../../src/engine/cpu-backend.ts";

/** Re-runs this script with the runners' BLAS preloaded and exits with its status; returns once it is preloaded. */
export function reexecWithRunnerBlas(): void {
  if (OLLMLX_BLAS_PRELOADED.read() || !optimizedBlas()) return;
  const r = Bun.spawnSync([process.execPath, ...process.argv.slice(1)], { env: runnerEnv(), stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  process.exit(r.exitCode ?? 1);
}
