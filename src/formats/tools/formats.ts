// The tool-call formats models emit, as data: which markers open and close a call, and how a call's text
// decodes into { name, arguments }. The streaming machinery lives in parser.ts and knows none of this.
// Formats and markers follow mlx-lm's tool_parsers/ and Ollama's model/parsers/ (see docs in each entry).
import { isPlainObject, jsonValueEnd, skipWhitespace, tryParseJson } from "./json-scan.ts";
import { decodeCallSyntax, decodePythonicCalls } from "./call-syntax.ts";
import type { ParsedCall } from "./parsed-call.ts";
import { DEEPSEEK_CALLS_BEGIN, DEEPSEEK_CALLS_END, decodeDeepseekCalls, decodeGlmCall } from "./deepseek-glm.ts";

export type ToolFormat =
  | "hermes" // Qwen2.5 / Qwen3 / Hermes / Nemotron: <tool_call>{"name","arguments"}</tool_call>
  | "qwen3_coder" // Qwen3-Coder: <tool_call><function=f><parameter=k>v</parameter></function></tool_call>
  | "llama3" // Llama 3.1-3.3: bare {"name","parameters"} at the start of the reply, or after <|python_tag|>
  | "mistral" // [TOOL_CALLS][{...}] (v3) and [TOOL_CALLS]name[ARGS]{...} (v11+ tokenizers)
  | "gemma4" // <|tool_call>call:f{k:<|"|>v<|"|>}<tool_call|>
  | "function_gemma" // <start_function_call>call:f{k:<escape>v<escape>}<end_function_call>
  | "pythonic" // LFM2: <|tool_call_start|>[f(k="v")]<|tool_call_end|>
  | "deepseek" // DeepSeek-V3 / R1 / V3.1: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>…<｜tool▁sep｜>…<｜tool▁call▁end｜>…
  | "glm" // GLM-4.5 / 4.6: <tool_call>f<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
  | "granite" // Granite 3.x: <|tool_call|>[{"name","arguments"}] (Granite 4 writes hermes' <tool_call>)
  | "command_r" // Command R7B / Command A: <|START_ACTION|>[{"tool_call_id","tool_name","parameters"}]<|END_ACTION|>
  | "json"; // no markers known: a reply that is a JSON call (Ollama's generic parser with tag "{")

/** Result of asking whether a marker-less call body is finished. */
export type BodyEnd = number | "incomplete" | "invalid";

export interface ToolFormatSpec {
  /** Literal markers that open a call. */
  starts: string[];
  /** Marker that closes a call; null when the call ends where its JSON ends (there is no end token). */
  end: string | null;
  /** For end === null: the length of the call's text once complete. */
  bodyEnd?: (body: string) => BodyEnd;
  /** Whether a bare JSON call may open the reply (and follow a previous call) with no marker. */
  bareJson: boolean;
  /** The calls in a call's text, or undefined when it is not a valid call (then it is released as content). */
  decode: (body: string) => ParsedCall[] | undefined;
}

/**
 * Call objects, alone or in a list, their name under `nameKey` and their arguments under the first of `argsKeys`
 * present; string arguments are JSON-decoded.
 */
function decodeCallObjects(text: string, nameKey: string, argsKeys: readonly string[]): ParsedCall[] | undefined {
  const value = tryParseJson(text.trim());
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return undefined;
  const calls: ParsedCall[] = [];
  for (const item of items) {
    if (!isPlainObject(item)) return undefined;
    const name = item[nameKey];
    if (typeof name !== "string" || name === "") return undefined;
    let args: unknown = argsKeys.map((k) => item[k]).find((a) => a !== undefined && a !== null) ?? {};
    if (typeof args === "string") args = tryParseJson(args);
    if (!isPlainObject(args)) return undefined;
    calls.push({ name, arguments: args });
  }
  return calls;
}

/** {"name", "arguments"|"parameters"} objects, alone or in a list. */
export function decodeJsonCalls(text: string): ParsedCall[] | undefined {
  return decodeCallObjects(text, "name", ["arguments", "parameters"]);
}

/** Ends at the close of the JSON value that starts the body (after whitespace). */
function bareJsonEnd(body: string): BodyEnd {
  const start = skipWhitespace(body);
  if (start === body.length) return "incomplete";
  return jsonValueEnd(body, start);
}

// "name[ARGS]" or "name[CALL_ID]id[ARGS]", then the JSON arguments.
const MISTRAL_HEADER = /^\s*([\w.-]+)(?:\[CALL_ID\]([\w-]*))?\[ARGS\]\s*/;
// Could still grow into a header: a name and a partial bracket tag, nothing else.
const MISTRAL_HEADER_PREFIX = /^\s*[\w.-]*(?:\[[A-Z_]*(?:\]([\w-]*(?:\[[A-Z]*)?)?)?)?$/;

function mistralBodyEnd(body: string): BodyEnd {
  const start = skipWhitespace(body);
  if (body[start] === "[" || body[start] === "{") return jsonValueEnd(body, start);
  const header = MISTRAL_HEADER.exec(body);
  if (!header) return MISTRAL_HEADER_PREFIX.test(body) ? "incomplete" : "invalid";
  const argsStart = header[0].length;
  if (argsStart === body.length) return "incomplete";
  return jsonValueEnd(body, argsStart);
}

function decodeMistral(body: string): ParsedCall[] | undefined {
  const trimmed = body.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) return decodeJsonCalls(trimmed);
  const header = MISTRAL_HEADER.exec(body);
  if (!header) return undefined;
  const args = tryParseJson(body.slice(header[0].length).trim());
  return isPlainObject(args) ? [{ name: header[1]!, arguments: args }] : undefined;
}

/** Command R's action list: [{"tool_call_id", "tool_name", "parameters"}]. */
function decodeCommandR(body: string): ParsedCall[] | undefined {
  return decodeCallObjects(body, "tool_name", ["parameters"]);
}

const QWEN_FUNCTION = /<function=([^>\n]+)>([\s\S]*?)<\/function>/g;
const QWEN_PARAMETER = /<parameter=([^>\n]+)>([\s\S]*?)<\/parameter>/g;

/** Parameter values are raw text; JSON-looking ones (numbers, booleans, objects) are decoded. */
function decodeQwenCoder(body: string): ParsedCall[] | undefined {
  const calls: ParsedCall[] = [];
  for (const fn of body.matchAll(QWEN_FUNCTION)) {
    const args: Record<string, unknown> = {};
    for (const p of fn[2]!.matchAll(QWEN_PARAMETER)) {
      const raw = p[2]!.replace(/^\n/, "").replace(/\n$/, "");
      const decoded = tryParseJson(raw);
      args[p[1]!.trim()] = decoded === undefined ? raw : decoded;
    }
    calls.push({ name: fn[1]!.trim(), arguments: args });
  }
  return calls.length > 0 ? calls : undefined;
}

export const TOOL_FORMATS: Record<ToolFormat, ToolFormatSpec> = {
  hermes: { starts: ["<tool_call>"], end: "</tool_call>", bareJson: false, decode: decodeJsonCalls },
  qwen3_coder: { starts: ["<tool_call>"], end: "</tool_call>", bareJson: false, decode: decodeQwenCoder },
  llama3: { starts: ["<|python_tag|>"], end: null, bodyEnd: bareJsonEnd, bareJson: true, decode: decodeJsonCalls },
  mistral: { starts: ["[TOOL_CALLS]"], end: null, bodyEnd: mistralBodyEnd, bareJson: false, decode: decodeMistral },
  gemma4: {
    starts: ["<|tool_call>"],
    end: "<tool_call|>",
    bareJson: false,
    decode: (body) => decodeCallSyntax(body, '<|"|>'),
  },
  function_gemma: {
    starts: ["<start_function_call>"],
    end: "<end_function_call>",
    bareJson: false,
    decode: (body) => decodeCallSyntax(body, "<escape>"),
  },
  pythonic: {
    starts: ["<|tool_call_start|>"],
    end: "<|tool_call_end|>",
    bareJson: false,
    decode: decodePythonicCalls,
  },
  json: { starts: [], end: null, bodyEnd: bareJsonEnd, bareJson: true, decode: decodeJsonCalls },
  deepseek: { starts: [DEEPSEEK_CALLS_BEGIN], end: DEEPSEEK_CALLS_END, bareJson: false, decode: decodeDeepseekCalls },
  glm: { starts: ["<tool_call>"], end: "</tool_call>", bareJson: false, decode: (body) => decodeGlmCall(body) ?? decodeJsonCalls(body) },
  granite: { starts: ["<|tool_call|>"], end: null, bodyEnd: bareJsonEnd, bareJson: false, decode: decodeJsonCalls },
  command_r: { starts: ["<|START_ACTION|>"], end: "<|END_ACTION|>", bareJson: false, decode: decodeCommandR },
};
