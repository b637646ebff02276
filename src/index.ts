#!/usr/bin/env bun
// ollmlx: parse argv, hand to a command (src/cli/commands.ts), or start a runner process.

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "runner" && argv[1] === "--check") {
    // Hidden: `serve` checks with this, before it listens, that a runner can load MLX (the server itself never does).
    try {
      await import("./ffi/lib.ts");
      return 0;
    } catch (err) {
      console.error(err instanceof Error ? err.message : String(err));
      return 1;
    }
  }
  if (argv[0] === "runner") {
    // Hidden: the server starts this process, one per loaded model (src/engine/runner.ts).
    const { runRunner } = await import("./engine/runner.ts");
    await runRunner();
    return -1; // keeps running; exits on unload or when the server goes away
  }
  const { runCli } = await import("./cli/commands.ts");
  return runCli(argv);
}

export {};

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
