// Finding where one JSON value ends inside streamed text, without parsing it: a call is emitted only
// once its arguments are complete, so the parser must know "not yet" apart from "done" and "never".

/** Where the JSON object or array starting at `start` ends (exclusive), or "incomplete" / "invalid". */
export function jsonValueEnd(text: string, start: number): number | "incomplete" | "invalid" {
  const first = text[start];
  if (first !== "{" && first !== "[") return "invalid";
  const closers: string[] = [];
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{") closers.push("}");
    else if (c === "[") closers.push("]");
    else if (c === "}" || c === "]") {
      if (closers.pop() !== c) return "invalid";
      if (closers.length === 0) return i + 1;
    }
  }
  return "incomplete";
}

/** JSON.parse that answers undefined instead of throwing. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Index of the first non-whitespace character at or after `from` (text.length if none). */
export function skipWhitespace(text: string, from = 0): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}
