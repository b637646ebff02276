// Two more call syntaxes, decoded from the text between a format's markers (formats.ts):
//   DeepSeek-V3 / R1: <｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}\n```<｜tool▁call▁end｜>, one
//   per call inside <｜tool▁calls▁begin｜>…<｜tool▁calls▁end｜>; V3.1 drops the type and the fence:
//   <｜tool▁call▁begin｜>name<｜tool▁sep｜>{...}<｜tool▁call▁end｜> (the models' chat templates show both).
//   GLM-4.5 / 4.6: <tool_call>name\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>…</tool_call>; a value is
//   JSON where it parses, its text otherwise (mlx-lm's glm47 parser, without the tools' schema).
import { isPlainObject, tryParseJson } from "./json-scan.ts";
import type { ParsedCall } from "./parsed-call.ts";

export const DEEPSEEK_CALLS_BEGIN = "<｜tool▁calls▁begin｜>";
export const DEEPSEEK_CALLS_END = "<｜tool▁calls▁end｜>";
const DEEPSEEK_CALL = /<｜tool▁call▁begin｜>([\s\S]*?)<｜tool▁sep｜>([\s\S]*?)<｜tool▁call▁end｜>/g;
// "name", a newline, then the arguments fenced as ```json
const FENCED = /^\s*([^\n`]+?)\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/;

export function decodeDeepseekCalls(body: string): ParsedCall[] | undefined {
  const calls: ParsedCall[] = [];
  for (const m of body.matchAll(DEEPSEEK_CALL)) {
    const head = m[1]!.trim();
    const rest = m[2]!;
    const fenced = FENCED.exec(rest);
    const [name, argsText] = fenced ? [fenced[1]!.trim(), fenced[2]!] : [head, rest.trim()];
    const args = argsText === "" ? {} : tryParseJson(argsText);
    if (!name || !isPlainObject(args)) return undefined;
    calls.push({ name, arguments: args });
  }
  return calls.length > 0 ? calls : undefined;
}

const GLM_ARG = /<arg_key>([\s\S]*?)<\/arg_key>\s*<arg_value>([\s\S]*?)<\/arg_value>/g;

export function decodeGlmCall(body: string): ParsedCall[] | undefined {
  const at = body.indexOf("<arg_key>");
  const name = (at < 0 ? body : body.slice(0, at)).trim();
  // a function's name (JSON in <tool_call> is the formats.ts entry's fallback)
  if (!/^[^\s{}[\]<>"]+$/.test(name)) return undefined;
  const args: Record<string, unknown> = {};
  for (const m of body.matchAll(GLM_ARG)) {
    const raw = m[2]!.trim();
    const value = tryParseJson(raw);
    args[m[1]!.trim()] = value === undefined ? raw : value;
  }
  return [{ name, arguments: args }];
}
