// Command-line flags the way cobra/pflag read them for Ollama (--name value, --name=value, -x value, bools, flags
// anywhere among the arguments, `--` ends flags), with pflag's error messages and cobra's help layout.

export interface FlagSpec {
  name: string;
  short?: string;
  type: "bool" | "string";
  usage: string;
  /** pflag's NoOptDefVal: the bare flag means this value; another value must be given as --name=value. */
  bareValue?: string;
}

export interface CommandSpec {
  name: string;
  aliases?: string[];
  /** The usage line after the program name: "run MODEL [PROMPT]". */
  use: string;
  short: string;
  args: { min: number; max: number };
  flags: FlagSpec[];
  env?: [name: string, description: string][];
  hidden?: boolean;
}

export class UsageError extends Error {}

export interface Parsed {
  args: string[];
  /** Flags given on the command line, by long name; bools are "true"/"false". */
  flags: Map<string, string>;
  help: boolean;
}

const HELP_FLAG: FlagSpec = { name: "help", short: "h", type: "bool", usage: "help for " };

function parseBool(name: string, value: string): string {
  if (/^(1|t|T|TRUE|true|True)$/.test(value)) return "true";
  if (/^(0|f|F|FALSE|false|False)$/.test(value)) return "false";
  throw new UsageError(`invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
}

export function parseArgs(spec: CommandSpec, argv: string[]): Parsed {
  const flags = new Map<string, string>();
  const args: string[] = [];
  let help = false;
  const all = [...spec.flags, HELP_FLAG];
  const set = (flag: FlagSpec, value: string) => {
    if (flag.name === "help") help = value === "true";
    else flags.set(flag.name, value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const flag = all.find((f) => f.name === name);
      if (!flag) throw new UsageError(`unknown flag: --${name}`);
      if (eq >= 0) set(flag, flag.type === "bool" ? parseBool(name, arg.slice(eq + 1)) : arg.slice(eq + 1));
      else if (flag.type === "bool") set(flag, "true");
      else if (flag.bareValue !== undefined) set(flag, flag.bareValue);
      else if (i + 1 < argv.length) set(flag, argv[++i]!);
      else throw new UsageError(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // -abc: a run of shorthands; a string flag takes the rest of the word or the next argument
      for (let j = 1; j < arg.length; j++) {
        const c = arg[j]!;
        const flag = all.find((f) => f.short === c);
        if (!flag) throw new UsageError(`unknown shorthand flag: '${c}' in ${arg}`);
        if (flag.type === "bool") {
          if (arg[j + 1] === "=") {
            set(flag, parseBool(flag.name, arg.slice(j + 2)));
            break;
          }
          set(flag, "true");
          continue;
        }
        const rest = arg.slice(j + 1).replace(/^=/, "");
        if (rest) set(flag, rest);
        else if (flag.bareValue !== undefined) set(flag, flag.bareValue);
        else if (i + 1 < argv.length) set(flag, argv[++i]!);
        else throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
        break;
      }
      continue;
    }
    args.push(arg);
  }
  if (!help) checkArgCount(spec, args.length);
  return { args, flags, help };
}

/** cobra's positional-argument validators (ExactArgs, MinimumNArgs, RangeArgs) and their messages. */
function checkArgCount(spec: CommandSpec, n: number): void {
  const { min, max } = spec.args;
  if (min === max && n !== min) throw new UsageError(`accepts ${min} arg(s), received ${n}`);
  if (max === Infinity && n < min) throw new UsageError(`requires at least ${min} arg(s), only received ${n}`);
  if (min !== max && max !== Infinity && (n < min || n > max)) {
    throw new UsageError(`accepts between ${min} and ${max} arg(s), received ${n}`);
  }
}

/** pflag's FlagUsages: sorted by name, usage column 3 spaces after the longest flag. */
export function flagUsages(flags: FlagSpec[], commandName: string): string {
  const rows = [...flags, { ...HELP_FLAG, usage: `help for ${commandName}` }]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((f) => {
      let left = f.short ? `  -${f.short}, --${f.name}` : `      --${f.name}`;
      if (f.type === "string") left += f.bareValue !== undefined ? ` string[="${f.bareValue}"]` : " string";
      return [left, f.usage] as const;
    });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, usage]) => `${left.padEnd(width)}   ${usage}`.trimEnd() + "\n").join("");
}

export function commandHelp(program: string, spec: CommandSpec): string {
  let out = `${spec.short}\n\nUsage:\n  ${program} ${spec.use} [flags]\n`;
  if (spec.aliases?.length) out += `\nAliases:\n  ${[spec.name, ...spec.aliases].join(", ")}\n`;
  out += `\nFlags:\n${flagUsages(spec.flags, spec.name)}`;
  if (spec.env?.length) {
    out += "\nEnvironment Variables:\n";
    for (const [name, description] of spec.env) out += `      ${name.padEnd(24)}   ${description}\n`;
  }
  return out;
}
