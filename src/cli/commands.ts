// Every command of the CLI in one table (names, usage, flags as Ollama's cobra commands have them), the help they
// print, and the dispatch: check the server is there, run the command, print any failure as one "Error: ..." line.
import { helpRows, OLLAMA_CONTEXT_LENGTH, OLLAMA_DEBUG, OLLAMA_HOST, OLLAMA_KEEP_ALIVE, OLLAMA_MAX_LOADED_MODELS, OLLAMA_MAX_QUEUE, OLLAMA_NOHISTORY, OLLAMA_ORIGINS, OLLMLX_MODELS } from "../config/settings.ts";
import { VERSION } from "../version.ts";
import { commandHelp, flagUsages, parseArgs, UsageError, type CommandSpec } from "./args.ts";
import { Client } from "./client.ts";

type Action = (client: Client, args: string[], flags: Map<string, string>) => Promise<number>;

interface Command extends CommandSpec {
  action: () => Promise<Action>;
  /** serve starts the server; everything else is a client of one. */
  local?: boolean;
}

const HOST_ENV = helpRows(OLLAMA_HOST);
const INSECURE = { name: "insecure", type: "bool", usage: "Use an insecure registry" } as const;

const COMMANDS: Command[] = [
  {
    name: "serve",
    aliases: ["start"],
    use: "serve",
    short: "Start ollmlx",
    args: { min: 0, max: 0 },
    flags: [],
    local: true,
    env: helpRows(OLLAMA_HOST, OLLMLX_MODELS, OLLAMA_KEEP_ALIVE, OLLAMA_CONTEXT_LENGTH, OLLAMA_MAX_LOADED_MODELS, OLLAMA_MAX_QUEUE, OLLAMA_ORIGINS, OLLAMA_DEBUG),
    action: async () => {
      const { serve } = await import("./serve.ts");
      return (_client, args) => serve(args);
    },
  },
  {
    name: "create",
    use: "create MODEL",
    short: "Create a model",
    args: { min: 1, max: 1 },
    flags: [
      { name: "file", short: "f", type: "string", usage: 'Name of the Modelfile (default "Modelfile")' },
      { name: "quantize", short: "q", type: "string", usage: "Quantize model to this level (e.g. q4_K_M)" },
    ],
    env: HOST_ENV,
    action: async () => (await import("./create.ts")).create,
  },
  {
    name: "finetune",
    use: "finetune MODEL",
    short: "Fine-tune a model with LoRA into a new model",
    args: { min: 1, max: 1 },
    flags: [
      { name: "from", type: "string", usage: "The model to fine-tune" },
      { name: "data", type: "string", usage: "Training rows, JSONL (messages, prompt/completion or text)" },
      { name: "valid", type: "string", usage: "Validation rows, JSONL" },
      { name: "iters", type: "string", usage: "Optimizer steps (default 100)" },
      { name: "batch-size", type: "string", usage: "Rows per step (default 4)" },
      { name: "learning-rate", type: "string", usage: "Adam's learning rate (default 1e-4)" },
      { name: "rank", type: "string", usage: "LoRA rank (default 8)" },
      { name: "scale", type: "string", usage: "LoRA scale (default 20)" },
      { name: "num-layers", type: "string", usage: "Adapt the last N blocks, -1 for all (default 16)" },
      { name: "max-seq-length", type: "string", usage: "Cut rows to this many tokens (default 2048)" },
      { name: "mask-prompt", type: "bool", usage: "Train on the last message only" },
      { name: "grad-checkpoint", type: "bool", usage: "Recompute each block's activations in the backward pass: less memory, slower" },
      { name: "seed", type: "string", usage: "Adapter init and batch order (default 0)" },
      { name: "weight-decay", type: "string", usage: "AdamW weight decay (default 0: Adam)" },
      { name: "dropout", type: "string", usage: "LoRA dropout in [0, 1), masks seeded from --seed (default 0)" },
      { name: "warmup", type: "string", usage: "Steps of linear learning-rate warmup (default 0)" },
      { name: "grad-accumulation-steps", type: "string", usage: "Iterations averaged into one update (default 1)" },
      { name: "lr-schedule", type: "string", usage: 'mlx-lm\'s lr_schedule as JSON, e.g. \'{"name":"cosine_decay","arguments":[1e-4,100],"warmup":10}\'' },
      { name: "save-every", type: "string", usage: "A checkpoint every N iterations, for --resume (default 100)" },
      { name: "resume", type: "bool", usage: "Continue this model's cancelled run from its checkpoint" },
      { name: "fuse", type: "bool", usage: "Merge the adapter into the base's weights" },
    ],
    env: HOST_ENV,
    action: async () => (await import("./finetune.ts")).finetune,
  },
  {
    name: "show",
    use: "show MODEL",
    short: "Show information for a model",
    args: { min: 1, max: 1 },
    flags: [
      { name: "license", type: "bool", usage: "Show license of a model" },
      { name: "modelfile", type: "bool", usage: "Show Modelfile of a model" },
      { name: "parameters", type: "bool", usage: "Show parameters of a model" },
      { name: "template", type: "bool", usage: "Show template of a model" },
      { name: "system", type: "bool", usage: "Show system message of a model" },
      { name: "verbose", short: "v", type: "bool", usage: "Show detailed model information" },
    ],
    env: HOST_ENV,
    action: async () => (await import("./show.ts")).show,
  },
  {
    name: "run",
    use: "run MODEL [PROMPT]",
    short: "Run a model",
    args: { min: 1, max: Infinity },
    flags: [
      { name: "keepalive", type: "string", usage: "Duration to keep a model loaded (e.g. 5m)" },
      { name: "verbose", type: "bool", usage: "Show timings for response" },
      INSECURE,
      { name: "nowordwrap", type: "bool", usage: "Don't wrap words to the next line automatically" },
      { name: "format", type: "string", usage: "Response format (e.g. json)" },
      {
        name: "think",
        type: "string",
        bareValue: "true",
        usage: "Enable thinking mode: true/false or high/medium/low for supported models",
      },
      { name: "hidethinking", type: "bool", usage: "Hide thinking output (if provided)" },
      { name: "truncate", type: "bool", usage: "For embedding models: truncate inputs exceeding the context length (default: true). Set --truncate=false to error instead" },
      { name: "dimensions", type: "string", usage: "Truncate output embeddings to specified dimension (embedding models only)" },
    ],
    env: helpRows(OLLAMA_HOST, OLLAMA_NOHISTORY),
    action: async () => (await import("./run.ts")).run,
  },
  {
    name: "stop",
    use: "stop MODEL",
    short: "Stop a running model",
    args: { min: 1, max: 1 },
    flags: [],
    env: HOST_ENV,
    action: async () => (await import("./stop.ts")).stop,
  },
  {
    name: "pull",
    use: "pull MODEL",
    short: "Pull a model from a registry",
    args: { min: 1, max: 1 },
    flags: [INSECURE],
    env: HOST_ENV,
    action: async () => (await import("./pull.ts")).pull,
  },
  {
    name: "push",
    use: "push MODEL",
    short: "Push a model to a registry",
    args: { min: 1, max: 1 },
    flags: [INSECURE],
    env: HOST_ENV,
    action: async () => (await import("./push.ts")).push,
  },
  {
    name: "list",
    aliases: ["ls"],
    use: "list",
    short: "List models",
    args: { min: 0, max: 1 },
    flags: [],
    env: HOST_ENV,
    action: async () => (await import("./list.ts")).list,
  },
  {
    name: "ps",
    use: "ps",
    short: "List running models",
    args: { min: 0, max: 1 },
    flags: [],
    env: HOST_ENV,
    action: async () => (await import("./ps.ts")).ps,
  },
  {
    name: "cp",
    use: "cp SOURCE DESTINATION",
    short: "Copy a model",
    args: { min: 2, max: 2 },
    flags: [],
    env: HOST_ENV,
    action: async () => (await import("./cp.ts")).cp,
  },
  {
    name: "rm",
    use: "rm MODEL [MODEL...]",
    short: "Remove a model",
    args: { min: 1, max: Infinity },
    flags: [],
    env: HOST_ENV,
    action: async () => (await import("./rm.ts")).rm,
  },
];

const ROOT: CommandSpec = {
  name: "ollmlx",
  use: "",
  short: "Large language model runner",
  args: { min: 0, max: 0 },
  flags: [{ name: "version", short: "v", type: "bool", usage: "Show version information" }],
};

export function rootHelp(): string {
  const commands = [...COMMANDS.map((c) => [c.name, c.short]), ["help", "Help about any command"]];
  return (
    `${ROOT.short}\n\nUsage:\n  ollmlx [flags]\n  ollmlx [command]\n\nAvailable Commands:\n` +
    commands.map(([name, short]) => `  ${name!.padEnd(11)} ${short}\n`).join("") +
    `\nFlags:\n${flagUsages(ROOT.flags, "ollmlx")}\nUse "ollmlx [command] --help" for more information about a command.\n`
  );
}

function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

/** `ollmlx -v`: the server's version, and the client's when they differ or no server answers (cmd.go versionHandler). */
async function version(): Promise<number> {
  let server = "";
  try {
    server = await new Client().version();
  } catch {
    console.log("Warning: could not connect to a running ollmlx instance");
  }
  if (server) console.log(`ollmlx version is ${server}`);
  if (server !== VERSION) console.log(`Warning: client version is ${VERSION}`);
  return 0;
}

function help(topic: string | undefined): number {
  if (!topic) {
    process.stdout.write(rootHelp());
    return 0;
  }
  const command = findCommand(topic);
  if (!command) {
    process.stdout.write(`Unknown help topic [\`${topic}\`]\n${rootHelp()}`);
    return 0;
  }
  process.stdout.write(commandHelp("ollmlx", command));
  return 0;
}

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help") return help(undefined);
  if (first === "help") return help(rest[0]);
  if (first === "-v" || first === "--version") return version();
  if (first.startsWith("-")) {
    parseArgs(ROOT, argv); // unknown root flag: pflag's message
    return help(undefined);
  }
  const command = findCommand(first);
  if (!command) throw new UsageError(`unknown command "${first}" for "ollmlx"\nRun 'ollmlx --help' for usage.`);
  const parsed = parseArgs(command, rest);
  if (parsed.help) {
    process.stdout.write(commandHelp("ollmlx", command));
    return 0;
  }
  const client = new Client();
  if (!command.local) await client.heartbeat();
  const action = await command.action();
  return action(client, parsed.args, parsed.flags);
}

/** The CLI's entry: the exit code, or -1 for a command that keeps running (serve). Never throws. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`Error: ${message}\n`);
    return 1;
  }
}
