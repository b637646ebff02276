// Process-level measurements and plumbing shared by the workers and the orchestrator.
import { existsSync, readFileSync } from "node:fs";

/** Peak resident set (VmHWM) of a live process, in MiB; NaN when it cannot be read (gone, or not Linux). */
export function peakRssMiB(pid: number | "self"): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resident set (VmRSS) of a live process now, in MiB; NaN when it cannot be read. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The process and all its descendants (Linux /proc), e.g. `ollmlx serve` and its runner processes. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    const tasks = `/proc/${p}/task`;
    if (!existsSync(tasks)) continue;
    try {
      for (const line of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/)) if (line) out.push(Number(line));
    } catch {
      // the process ended between the two reads
    }
  }
  return out;
}

/** The last line of a worker's stdout is its JSON report; anything before it is the worker's own chatter. */
export function lastJsonLine<T>(stdout: string): T {
  const line = stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as T;
}

/** Runs a worker to completion; throws with its stderr tail when it fails. */
export async function runWorker<T>(cmd: string[], env: Record<string, string | undefined>, timeoutMs: number): Promise<T> {
  const p = Bun.spawn(cmd, { env, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd.slice(0, 2).join(" ")} exited ${code}: ${err.trim().split("\n").slice(-5).join(" | ")}`);
  return lastJsonLine<T>(out);
}
