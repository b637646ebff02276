// Go text/template's lexer (text/template/parse/lex.go) for the "{{" "}}" delimiters: text and actions, trim
// markers ("{{- " eats the whitespace before, " -}}" the whitespace after) and comments ("{{/* */}}").

export class TemplateSyntaxError extends Error {
  constructor(line: number, message: string) {
    // Go's wording: `template: NAME:LINE: message` (Ollama's templates have the empty name)
    super(`template: :${line}: ${message}`);
    this.name = "TemplateSyntaxError";
  }
}

type TokenBody =
  | { t: "field"; path: string[] }
  | { t: "var"; name: string; path: string[] }
  | { t: "dot" }
  | { t: "ident"; name: string }
  | { t: "string"; value: string }
  | { t: "number"; text: string }
  | { t: "char"; value: number }
  | { t: "pipe" | "lparen" | "rparen" | "declare" | "assign" | "comma" };

/** `space`: whitespace precedes the token (it separates `(x).Field` from `(x) .Field`). */
export type Token = TokenBody & { space: boolean; line: number };

export type Piece = { kind: "text"; text: string } | { kind: "action"; tokens: Token[]; line: number };

const SPACE = /[ \t\r\n]/;
const IDENT = /[A-Za-z0-9_]/;

/** Line numbers of positions asked for in increasing order, counted incrementally. */
function lineCounter(src: string): (pos: number) => number {
  let at = 0;
  let line = 1;
  return (pos) => {
    for (; at < pos; at++) if (src.charCodeAt(at) === 10) line++;
    return line;
  };
}

/** The template as text pieces and token lists of actions; comments dropped, trim markers applied. */
export function lex(src: string): Piece[] {
  const pieces: Piece[] = [];
  let pos = 0;
  let trimNext = false;
  const lineAt = lineCounter(src);
  while (pos < src.length) {
    const open = src.indexOf("{{", pos);
    let text = src.slice(pos, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, "");
    if (open < 0) {
      if (text) pieces.push({ kind: "text", text });
      break;
    }
    let p = open + 2;
    if (src[p] === "-" && SPACE.test(src[p + 1] ?? "")) {
      text = text.replace(/[ \t\r\n]+$/, "");
      p += 2;
    }
    if (text) pieces.push({ kind: "text", text });
    const line = lineAt(open);
    // a comment starts right after "{{" or "{{- " (lex.go: no other space allowed)
    if (src.startsWith("/*", p)) {
      const end = src.indexOf("*/", p + 2);
      if (end < 0) throw new TemplateSyntaxError(line, "unclosed comment");
      let q = end + 2;
      trimNext = false;
      if (SPACE.test(src[q] ?? "") && src.startsWith("-}}", q + 1)) {
        trimNext = true;
        q += 4;
      } else if (src.startsWith("}}", q)) q += 2;
      else throw new TemplateSyntaxError(line, "comment ends before closing delimiter");
      pos = q;
      continue;
    }
    const { tokens, end, trim } = lexAction(src, p, line);
    pieces.push({ kind: "action", tokens, line });
    trimNext = trim;
    pos = end;
  }
  return pieces;
}

function lexAction(src: string, start: number, line: number): { tokens: Token[]; end: number; trim: boolean } {
  const tokens: Token[] = [];
  let p = start;
  let space = false;
  const push = (tok: TokenBody) => {
    tokens.push({ ...tok, space, line });
    space = false;
  };
  while (true) {
    if (p >= src.length) throw new TemplateSyntaxError(line, "unclosed action");
    const c = src[p]!;
    if (SPACE.test(c)) {
      // " -}}": a right trim marker needs the space before it
      if (src.startsWith("-}}", p + 1)) return { tokens, end: p + 4, trim: true };
      space = true;
      p++;
      continue;
    }
    if (src.startsWith("}}", p)) return { tokens, end: p + 2, trim: false };
    if (c === "." && !/[0-9]/.test(src[p + 1] ?? "")) {
      const m = src.slice(p).match(/^(\.[A-Za-z_][A-Za-z0-9_]*)+/);
      if (m) {
        push({ t: "field", path: m[0].slice(1).split(".") });
        p += m[0].length;
      } else {
        push({ t: "dot" });
        p++;
      }
    } else if (c === "$") {
      const m = src.slice(p).match(/^\$[A-Za-z0-9_]*((\.[A-Za-z_][A-Za-z0-9_]*)*)/)!;
      const name = m[0].slice(0, m[0].length - m[1]!.length);
      push({ t: "var", name, path: m[1] ? m[1].slice(1).split(".") : [] });
      p += m[0].length;
    } else if (c === '"' || c === "`") {
      const end = c === "`" ? src.indexOf("`", p + 1) : quotedEnd(src, p, line);
      if (end < 0) throw new TemplateSyntaxError(line, "unterminated raw quoted string");
      const body = src.slice(p + 1, end);
      push({ t: "string", value: c === "`" ? body : unquote(body, line) });
      p = end + 1;
    } else if (c === "'") {
      const m = src.slice(p).match(/^'(\\.|[^\\'])'/u);
      if (!m) throw new TemplateSyntaxError(line, "unterminated character constant");
      push({ t: "char", value: unquote(m[1]!, line).codePointAt(0)! });
      p += m[0].length;
    } else if (/[0-9+-]/.test(c) || (c === "." && /[0-9]/.test(src[p + 1] ?? ""))) {
      const m = src.slice(p).match(/^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/);
      if (!m || m[0] === "" || m[0] === "-" || m[0] === "+") throw new TemplateSyntaxError(line, `unexpected "${c}" in command`);
      push({ t: "number", text: m[0] });
      p += m[0].length;
    } else if (IDENT.test(c)) {
      const m = src.slice(p).match(/^[A-Za-z0-9_]+/)!;
      push({ t: "ident", name: m[0] });
      p += m[0].length;
    } else if (c === "|") {
      push({ t: "pipe" });
      p++;
    } else if (c === "(") {
      push({ t: "lparen" });
      p++;
    } else if (c === ")") {
      push({ t: "rparen" });
      p++;
    } else if (c === ",") {
      push({ t: "comma" });
      p++;
    } else if (src.startsWith(":=", p)) {
      push({ t: "declare" });
      p += 2;
    } else if (c === "=") {
      push({ t: "assign" });
      p++;
    } else {
      throw new TemplateSyntaxError(line, `unrecognized character in action: ${JSON.stringify(c)}`);
    }
  }
}

function quotedEnd(src: string, start: number, line: number): number {
  for (let p = start + 1; p < src.length; p++) {
    if (src[p] === "\\") p++;
    else if (src[p] === '"') return p;
    else if (src[p] === "\n") break;
  }
  throw new TemplateSyntaxError(line, "unterminated quoted string");
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", "\\": "\\", '"': '"', "'": "'" };

/** strconv.Unquote's escapes: \n \t \\ \" \xHH \uHHHH \UHHHHHHHH \OOO. */
function unquote(body: string, line: number): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (e.length === 1) {
      const r = ESCAPES[e];
      if (r === undefined) throw new TemplateSyntaxError(line, `invalid syntax: unknown escape \\${e}`);
      return r;
    }
    const code = /^[0-7]/.test(e) ? parseInt(e, 8) : parseInt(e.slice(1), 16);
    return String.fromCodePoint(code);
  });
}
