// Drives the compiled CLI (dist's `ollmlx`, built by scripts/build-binary.sh once per test process) as a
// subprocess: piped (not a terminal), or inside a pseudo-terminal (Bun.Terminal) for the interactive session and
// live progress. There is no fallback to `bun src/index.ts`: if the build fails, every CLI test fails.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDist, ROOT } from "../binary/dist.ts";

/** Its own dist folder, so that test/binary building dist/ at the same time never writes the same file. */
const CLI_DIST = join(ROOT, "build/cli-dist");
let binary: string | undefined;

/** The compiled ollmlx; the first call builds it (a few seconds), later calls reuse it. */
export function ollmlxBinary(): string {
  binary ??= join(buildDist(CLI_DIST), "ollmlx");
  return binary;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), "ollmlx-cli-home-"));
}

/** A user's shell: nothing that points into the repo or at another server, the server at `host`. */
function environment(host: string, env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(OLLMLX_|OLLAMA_|LD_LIBRARY_PATH$|LD_PRELOAD$)/.test(k)) base[k] = v;
  }
  return { ...base, HOME: env.HOME ?? tempHome(), OLLAMA_HOST: host, ...env };
}

/** Runs to the end with stdin piped (`input`, or empty). */
export async function cli(host: string, args: string[], options: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<Result> {
  const proc = Bun.spawn([ollmlxBinary(), ...args], {
    cwd: options.cwd ?? ROOT,
    env: environment(host, options.env ?? {}),
    stdin: options.input === undefined ? "ignore" : new TextEncoder().encode(options.input),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Started, not awaited: stdout read chunk by chunk as it comes. */
export function spawnCli(host: string, args: string[], env: Record<string, string> = {}) {
  return Bun.spawn([ollmlxBinary(), ...args], { cwd: ROOT, env: environment(host, env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
}

/** Removes escape sequences (colours, cursor moves) to read what a terminal shows as text. */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "").replace(/\r/g, "");
}

/** The CLI in a pseudo-terminal: what it printed so far, keys to type, and waiting for text to appear. */
export class PtySession {
  output = "";
  readonly proc: ReturnType<typeof Bun.spawn>;
  private readonly terminal: Bun.Terminal;

  constructor(host: string, args: string[], env: Record<string, string> = {}, cols = 100) {
    this.terminal = new Bun.Terminal({
      cols,
      rows: 40,
      data: (_t, data) => {
        this.output += new TextDecoder().decode(data);
      },
    });
    this.proc = Bun.spawn([ollmlxBinary(), ...args], { cwd: ROOT, env: environment(host, env), terminal: this.terminal });
  }

  type(keys: string): void {
    this.terminal.write(keys);
  }

  /** Waits until `pattern` appears in the (escape-stripped) output after character `from`; returns the index after it. */
  async waitFor(pattern: string | RegExp, from = 0, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = plain(this.output).slice(from);
      const at = typeof pattern === "string" ? text.indexOf(pattern) : text.search(pattern);
      if (at >= 0) return from + at + (typeof pattern === "string" ? pattern.length : text.match(pattern)![0].length);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; screen so far:\n${plain(this.output)}`);
      await Bun.sleep(20);
    }
  }

  get text(): string {
    return plain(this.output);
  }

  async exit(timeoutMs = 10_000): Promise<number> {
    const timer = setTimeout(() => this.proc.kill(), timeoutMs);
    const code = await this.proc.exited;
    clearTimeout(timer);
    this.terminal.close();
    return code;
  }
}
