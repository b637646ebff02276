#!/usr/bin/env bun
// ollmlx: parse argv, hand to a command, or start the server.
import { VERSION } from "./version.ts";

const HELP = `Usage:
  ollmlx [command]

Available Commands:
  serve       Start ollmlx
  help        Help about any command

Flags:
  -h, --help      help for ollmlx
  -v, --version   Show version information
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve": {
      const { serve } = await import("./cli/serve.ts");
      return serve(rest);
    }
    case "runner": {
      // Hidden: the server starts this process, one per loaded model (src/engine/runner.ts).
      const { runRunner } = await import("./engine/runner.ts");
      await runRunner();
      return -1; // keeps running; exits on unload or when the server goes away
    }
    case "-v":
    case "--version":
      console.log(`ollmlx version is ${VERSION}`);
      return 0;
    case undefined:
    case "help":
    case "-h":
    case "--help":
      process.stdout.write(HELP);
      return 0;
    default:
      console.error(`Error: unknown command "${command}" for "ollmlx"\nRun 'ollmlx --help' for usage.`);
      return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
