// Decoders for the two non-JSON call syntaxes:
//   Gemma ("call:name{key:value,...}", strings wrapped in a delimiter token: <|"|> for Gemma 4,
//   <escape> for FunctionGemma; keys unquoted), and
//   pythonic ("[name(key=value, ...), ...]", LFM2; Python literals, JSON literals also accepted).
// A small cursor parser rather than regexes, so nested objects and delimiters inside strings hold.
import type { ParsedCall } from "./parsed-call.ts";

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }
  eat(s: string): boolean {
    this.skipSpace();
    if (!this.startsWith(s)) return false;
    this.pos += s.length;
    return true;
  }
  expect(s: string): void {
    if (!this.eat(s)) throw new SyntaxError(`expected ${s} at ${this.pos}`);
  }
  /** Text up to (not including) the first of `stops`, or to the end. */
  until(stops: string[]): string {
    const from = this.pos;
    while (this.pos < this.text.length && !stops.some((s) => this.startsWith(s))) this.pos++;
    return this.text.slice(from, this.pos);
  }
}

/** A bare scalar: JSON (and Python's True/False/None), else kept as the text itself. */
function scalar(raw: string): unknown {
  const text = raw.trim();
  const python: Record<string, unknown> = { True: true, False: false, None: null };
  if (text in python) return python[text];
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function gemmaValue(c: Cursor, quote: string): unknown {
  c.skipSpace();
  if (c.eat(quote)) {
    const s = c.until([quote]);
    c.expect(quote);
    return s;
  }
  if (c.eat("{")) return gemmaObject(c, quote, "}");
  if (c.eat("[")) {
    const items: unknown[] = [];
    while (!c.eat("]")) {
      items.push(gemmaValue(c, quote));
      if (!c.eat(",") && !c.startsWith("]")) throw new SyntaxError("expected , or ]");
    }
    return items;
  }
  return scalar(c.until([",", "}", "]"]));
}

/** After the opening brace: key:value pairs up to `close`. */
function gemmaObject(c: Cursor, quote: string, close: string): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  while (!c.eat(close)) {
    c.skipSpace();
    const key = c.eat(quote) ? c.until([quote]) + (c.expect(quote), "") : c.until([":"]).trim();
    c.expect(":");
    obj[key] = gemmaValue(c, quote);
    if (!c.eat(",") && !c.startsWith(close)) throw new SyntaxError(`expected , or ${close}`);
    if (c.pos >= c.text.length) throw new SyntaxError("unterminated object");
  }
  return obj;
}

/** Every `call:name{...}` in the text; undefined if there is none or one is malformed. */
export function decodeCallSyntax(text: string, quote: string): ParsedCall[] | undefined {
  const c = new Cursor(text);
  const calls: ParsedCall[] = [];
  try {
    while (c.eat("call:")) {
      const name = c.until(["{"]).trim();
      if (!/^[\w.-]+$/.test(name)) return undefined;
      c.expect("{");
      calls.push({ name, arguments: gemmaObject(c, quote, "}") });
      c.skipSpace();
    }
  } catch {
    return undefined;
  }
  return calls.length > 0 && c.pos === c.text.length ? calls : undefined;
}

function pythonString(c: Cursor, q: string): string {
  let out = "";
  while (c.pos < c.text.length) {
    const ch = c.text[c.pos++]!;
    if (ch === q) return out;
    if (ch === "\\" && c.pos < c.text.length) {
      const next = c.text[c.pos++]!;
      out += next === "n" ? "\n" : next === "t" ? "\t" : next;
    } else out += ch;
  }
  throw new SyntaxError("unterminated string");
}

function pythonValue(c: Cursor): unknown {
  c.skipSpace();
  for (const q of ['"', "'"]) if (c.eat(q)) return pythonString(c, q);
  if (c.eat("[")) {
    const items: unknown[] = [];
    while (!c.eat("]")) {
      items.push(pythonValue(c));
      if (!c.eat(",") && !c.startsWith("]")) throw new SyntaxError("expected , or ]");
    }
    return items;
  }
  if (c.eat("{")) {
    const obj: Record<string, unknown> = {};
    while (!c.eat("}")) {
      const key = pythonValue(c);
      c.expect(":");
      obj[String(key)] = pythonValue(c);
      if (!c.eat(",") && !c.startsWith("}")) throw new SyntaxError("expected , or }");
    }
    return obj;
  }
  const raw = c.until([",", ")", "]", "}"]);
  if (raw.trim() === "") throw new SyntaxError("empty value");
  return scalar(raw);
}

/** `[f(a=1), g(b="x")]` (the brackets optional): keyword arguments only, as in mlx-lm's pythonic parser. */
export function decodePythonicCalls(text: string): ParsedCall[] | undefined {
  const c = new Cursor(text.trim());
  const calls: ParsedCall[] = [];
  try {
    const bracketed = c.eat("[");
    do {
      c.skipSpace();
      const name = c.until(["("]).trim();
      if (!/^[\w.]+$/.test(name)) return undefined;
      c.expect("(");
      const args: Record<string, unknown> = {};
      while (!c.eat(")")) {
        c.skipSpace();
        const key = c.until(["="]).trim();
        if (!/^\w+$/.test(key)) return undefined;
        c.expect("=");
        args[key] = pythonValue(c);
        if (!c.eat(",") && !c.startsWith(")")) throw new SyntaxError("expected , or )");
      }
      calls.push({ name, arguments: args });
    } while (c.eat(","));
    if (bracketed) c.expect("]");
    c.skipSpace();
  } catch {
    return undefined;
  }
  return calls.length > 0 && c.pos === c.text.length ? calls : undefined;
}
