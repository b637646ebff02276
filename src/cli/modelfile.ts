// The Modelfile (parser/parser.go): instructions, one per line, case-insensitive, `#` comments, values plain to the
// end of the line, "quoted" or """triple-quoted""" (those may span lines). createRequest turns it into the JSON
// form of POST /api/create, hashing the files FROM/ADAPTER point at so they can be uploaded as blobs.
import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import type { CreateRequest } from "../schemas/index.ts";
import { OPTION_KINDS, type OptionName } from "../schemas/options.ts";

export interface Instruction {
  /** "model" (FROM), "adapter", "template", "system", "license", "message", "requires", "renderer", "parser",
   * "draft", or a parameter's name (PARAMETER). */
  name: string;
  args: string;
}

const COMMANDS = ["from", "license", "template", "system", "adapter", "renderer", "parser", "parameter", "message", "requires", "draft"];
const ROLES = ["system", "user", "assistant"];
const DEPRECATED = ["penalize_newline", "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mlock", "mirostat", "mirostat_tau", "mirostat_eta"];

export class ModelfileError extends Error {}

/** Reads one value starting at `text[i]`: a quoted one may run over lines, a plain one ends at the newline. */
function readValue(text: string, i: number): { value: string; end: number } {
  if (text.startsWith('"""', i)) {
    const close = text.indexOf('"""', i + 3);
    if (close < 0) throw new ModelfileError("unterminated quote");
    return { value: text.slice(i + 3, close), end: close + 3 };
  }
  if (text[i] === '"') {
    let j = i + 1;
    let value = "";
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\" && text[j + 1] === '"') j++;
      value += text[j];
    }
    if (j >= text.length) throw new ModelfileError("unterminated quote");
    return { value, end: j + 1 };
  }
  const newline = text.indexOf("\n", i);
  const end = newline < 0 ? text.length : newline;
  return { value: text.slice(i, end).trim(), end };
}

export function parseModelfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const src = text.replace(/\r\n/g, "\n");
  let i = 0;
  const skipBlanks = () => {
    while (i < src.length && (src[i] === " " || src[i] === "\t")) i++;
  };
  const word = () => {
    const m = /^[^\s]*/.exec(src.slice(i))![0];
    i += m.length;
    return m;
  };
  while (i < src.length) {
    skipBlanks();
    if (src[i] === "\n") {
      i++;
      continue;
    }
    if (i >= src.length) break;
    if (src[i] === "#") {
      const newline = src.indexOf("\n", i);
      i = newline < 0 ? src.length : newline + 1;
      continue;
    }
    const command = word().toLowerCase();
    if (!COMMANDS.includes(command)) {
      throw new ModelfileError(
        'command must be one of "from", "license", "template", "system", "adapter", "renderer", "parser", "parameter", "message", or "requires"',
      );
    }
    skipBlanks();
    let name = command === "from" ? "model" : command;
    let prefix = "";
    if (command === "parameter") {
      name = word().toLowerCase();
      skipBlanks();
    } else if (command === "message") {
      const role = word().toLowerCase();
      if (!ROLES.includes(role)) throw new ModelfileError('message role must be one of "system", "user", or "assistant"');
      prefix = `${role}: `;
      skipBlanks();
    }
    const { value, end } = readValue(src, i);
    i = end;
    const rest = src.indexOf("\n", i);
    const tail = src.slice(i, rest < 0 ? src.length : rest);
    if (tail.trim()) throw new ModelfileError(`unexpected text after the value: ${tail.trim()}`);
    i = rest < 0 ? src.length : rest + 1;
    if (!name || (!value && command !== "system")) throw new ModelfileError(`missing value for ${command.toUpperCase()}`);
    out.push({ name, args: prefix + value });
  }
  if (!out.some((c) => c.name === "model")) throw new ModelfileError("no FROM line");
  return out;
}

/** api.FormatParams for one parameter: its value(s) typed by the option's Go kind. */
export function formatParam(name: string, values: string[]): unknown {
  if (!Object.hasOwn(OPTION_KINDS, name)) throw new ModelfileError(`unknown parameter '${name}'`);
  const kind = OPTION_KINDS[name as OptionName];
  const value = values[0] ?? "";
  const shown = `[${values.join(" ")}]`;
  switch (kind) {
    case "float32": {
      const n = Number(value);
      if (value.trim() === "" || Number.isNaN(n)) throw new ModelfileError(`invalid float value ${shown}`);
      return n;
    }
    case "int":
    case "*int":
      if (!/^[+-]?\d+$/.test(value)) throw new ModelfileError(`invalid int value ${shown}`);
      return Number(value);
    case "*bool":
      if (/^(1|t|T|TRUE|true|True)$/.test(value)) return true;
      if (/^(0|f|F|FALSE|false|False)$/.test(value)) return false;
      throw new ModelfileError(`invalid bool value ${shown}`);
    case "[]string":
      return values;
  }
}

function expandPath(path: string, dir: string): string {
  if (isAbsolute(path)) return path;
  if (path === "~" || path.startsWith("~/")) return join(homedir(), path.slice(1));
  return resolve(dir, path);
}

const MODEL_FILE = /\.(safetensors|json|jinja|tiktoken)$|^tokenizer\.model$/;

/** The files of a FROM/ADAPTER path: the file itself, or a directory's GGUF or safetensors model files. */
export function modelFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const names = readdirSync(path).sort();
  const gguf = names.filter((n) => n.endsWith(".gguf"));
  const chosen = gguf.length ? gguf : names.filter((n) => MODEL_FILE.test(n));
  if (!chosen.length) throw new ModelfileError(`no safetensors or gguf files found in ${path}`);
  return chosen.map((n) => join(path, n));
}

export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return `sha256:${hasher.digest("hex")}`;
}

export interface PreparedCreate {
  request: CreateRequest;
  /** digest → local path, for every blob the server may not have yet. */
  blobs: Map<string, string>;
  warnings: string[];
}

/** modelfile.CreateRequest: FROM a path that exists is uploaded as files; otherwise it names a model. */
export async function createRequest(instructions: Instruction[], dir: string): Promise<PreparedCreate> {
  const request: CreateRequest = {};
  const blobs = new Map<string, string>();
  const warnings: string[] = [];
  const params: Record<string, unknown> = {};
  const licenses: string[] = [];
  const messages: { role: string; content: string }[] = [];
  const digests = async (path: string) => {
    const map: Record<string, string> = {};
    for (const file of modelFiles(path)) {
      const digest = await sha256File(file);
      map[basename(file)] = digest;
      blobs.set(digest, file);
    }
    return map;
  };
  for (const { name, args } of instructions) {
    switch (name) {
      case "model": {
        const path = expandPath(args, dir);
        if (!existsSync(path)) request.from = args;
        else request.files = { ...request.files, ...(await digests(path)) };
        break;
      }
      case "adapter": {
        const path = expandPath(args, dir);
        if (!existsSync(path)) throw new ModelfileError(`adapter ${args} does not exist`);
        request.adapters = await digests(path);
        break;
      }
      case "template":
      case "system":
      case "renderer":
      case "parser":
      case "requires":
        request[name] = args;
        break;
      case "draft":
        throw new ModelfileError("DRAFT is not supported yet");
      case "license":
        licenses.push(args);
        break;
      case "message": {
        const cut = args.indexOf(": ");
        messages.push({ role: args.slice(0, cut), content: args.slice(cut + 2) });
        break;
      }
      default: {
        if (DEPRECATED.includes(name)) {
          warnings.push(`warning: parameter ${name} is deprecated`);
          break;
        }
        const value = formatParam(name, [args]);
        const previous = params[name];
        params[name] = Array.isArray(previous) && Array.isArray(value) ? [...previous, ...value] : value;
      }
    }
  }
  if (Object.keys(params).length) request.parameters = params;
  if (messages.length) request.messages = messages;
  if (licenses.length) request.license = licenses;
  return { request, blobs, warnings };
}
