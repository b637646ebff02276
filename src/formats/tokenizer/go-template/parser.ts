// Go text/template's parser (text/template/parse/parse.go) for the constructs Ollama's templates use: actions,
// pipelines, variables, if/else if/with/range, break/continue. {{define}}, {{template}} and {{block}} are refused
// by name (UnsupportedTemplateError) rather than mis-rendered.
import { lex, TemplateSyntaxError, type Token } from "./lexer.ts";
import { GoFloat, type GoValue } from "./values.ts";

/** A valid Go template that uses something this renderer does not implement. */
export class UnsupportedTemplateError extends Error {
  constructor(construct: string) {
    super(`template uses ${construct}, which ollmlx does not support`);
    this.name = "UnsupportedTemplateError";
  }
}

export type Arg =
  | { k: "field"; path: string[] }
  | { k: "var"; name: string; path: string[] }
  | { k: "dot" }
  | { k: "func"; name: string }
  | { k: "lit"; value: GoValue }
  | { k: "pipe"; pipe: Pipe; path: string[] };

export interface Command {
  args: Arg[];
}

export interface Pipe {
  decl: string[];
  /** `$x = v` (assign to an existing variable) rather than `$x := v` */
  assign: boolean;
  cmds: Command[];
  line: number;
}

export interface ControlNode {
  k: "if" | "with" | "range";
  pipe: Pipe;
  list: TemplateNode[];
  elseList?: TemplateNode[];
}

export type TemplateNode = { k: "text"; text: string } | { k: "action"; pipe: Pipe } | ControlNode | { k: "break" | "continue" };

const FUNCS = new Set([
  "and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le", "gt", "ge", "print", "printf", "println",
  "json", "currentDate", "yesterdayDate", "toTypeScriptType",
]);
/** Go builtins this renderer leaves out: a template calling them is refused by name. */
const UNSUPPORTED_FUNCS = new Set(["call", "html", "js", "urlquery"]);

type Piece = ReturnType<typeof lex>[number];

class Parser {
  private i = 0;
  private vars: string[] = ["$"];
  private rangeDepth = 0;
  constructor(private readonly pieces: Piece[]) {}

  /** Nodes until `{{end}}` / `{{else ...}}` (the returned stop) or the end of input. */
  list(): { nodes: TemplateNode[]; stop?: { word: "end" | "else"; rest: Token[]; line: number } } {
    const nodes: TemplateNode[] = [];
    while (this.i < this.pieces.length) {
      const piece = this.pieces[this.i++]!;
      if (piece.kind === "text") {
        nodes.push({ k: "text", text: piece.text });
        continue;
      }
      const [first, ...rest] = piece.tokens;
      if (!first) throw new TemplateSyntaxError(piece.line, "missing value for command");
      const word = first.t === "ident" ? first.name : "";
      if (word === "end" || word === "else") return { nodes, stop: { word, rest, line: piece.line } };
      if (word === "if" || word === "with" || word === "range") nodes.push(this.control(word, rest, piece.line));
      else if (word === "break" || word === "continue") {
        if (this.rangeDepth === 0) throw new TemplateSyntaxError(piece.line, `{{${word}}} outside {{range}}`);
        nodes.push({ k: word });
      } else if (word === "define" || word === "template" || word === "block") {
        throw new UnsupportedTemplateError(`{{${word}}}`);
      } else nodes.push({ k: "action", pipe: this.pipeline(piece.tokens, piece.line, "command") });
    }
    return { nodes };
  }

  private control(kind: "if" | "with" | "range", tokens: Token[], line: number): TemplateNode {
    const mark = this.vars.length;
    const pipe = this.pipeline(tokens, line, kind);
    if (kind === "range") this.rangeDepth++;
    const body = this.list();
    if (kind === "range") this.rangeDepth--;
    if (!body.stop) throw new TemplateSyntaxError(line, `unexpected EOF`);
    const node: TemplateNode = { k: kind, pipe, list: body.nodes };
    if (body.stop.word === "else") {
      const next = body.stop.rest[0];
      // `{{else if x}}` / `{{else with x}}` is an if/with nested in the else branch, sharing the outer {{end}}
      if (next?.t === "ident" && (next.name === "if" || next.name === "with") && kind !== "range") {
        node.elseList = [this.control(next.name, body.stop.rest.slice(1), body.stop.line)];
      } else {
        if (body.stop.rest.length > 0) throw new TemplateSyntaxError(body.stop.line, "unexpected tokens after else");
        const alt = this.list();
        if (alt.stop?.word !== "end") throw new TemplateSyntaxError(body.stop.line, "expected end; found else or EOF");
        node.elseList = alt.nodes;
      }
    } else if (body.stop.rest.length > 0) throw new TemplateSyntaxError(body.stop.line, "unexpected tokens in end");
    this.vars.length = mark;
    return node;
  }

  private pipeline(tokens: Token[], line: number, context: string): Pipe {
    let toks = tokens;
    const decl: string[] = [];
    let assign = false;
    const declMatch =
      toks[0]?.t === "var" && toks[0].path.length === 0
        ? toks[1]?.t === "declare" || toks[1]?.t === "assign"
          ? 1
          : context === "range" && toks[1]?.t === "comma" && toks[2]?.t === "var" && toks[3]?.t === "declare"
            ? 2
            : 0
        : 0;
    if (declMatch > 0) {
      for (let j = 0; j < declMatch; j++) decl.push((toks[j * 2] as Extract<Token, { t: "var" }>).name);
      assign = toks[declMatch * 2 - 1]?.t === "assign";
      toks = toks.slice(declMatch * 2);
      if (assign && !this.vars.includes(decl[0]!)) throw new TemplateSyntaxError(line, `undefined variable "${decl[0]}"`);
    }
    const { pipe, end } = this.commands(toks, 0, line, false);
    if (end !== toks.length) throw new TemplateSyntaxError(line, `unexpected ")" in ${context}`);
    if (pipe.length === 0) throw new TemplateSyntaxError(line, `missing value for ${context}`);
    // declared variables are visible after the pipeline that declares them
    if (!assign) this.vars.push(...decl);
    return { decl, assign, cmds: pipe, line };
  }

  /** Commands separated by `|`, up to the end of the tokens or (nested) a closing parenthesis. */
  private commands(toks: Token[], start: number, line: number, nested: boolean): { pipe: Command[]; end: number } {
    const cmds: Command[] = [];
    let args: Arg[] = [];
    let p = start;
    for (; p < toks.length; p++) {
      const tok = toks[p]!;
      if (tok.t === "rparen") {
        if (!nested) throw new TemplateSyntaxError(line, `unexpected ")"`);
        break;
      }
      if (tok.t === "pipe") {
        if (args.length === 0) throw new TemplateSyntaxError(line, "missing command");
        cmds.push({ args });
        args = [];
        continue;
      }
      if (tok.t === "lparen") {
        const inner = this.commands(toks, p + 1, line, true);
        if (toks[inner.end]?.t !== "rparen") throw new TemplateSyntaxError(line, "unclosed left paren");
        if (inner.pipe.length === 0) throw new TemplateSyntaxError(line, "missing value for parenthesized pipeline");
        p = inner.end;
        const chain = toks[p + 1];
        const path = chain?.t === "field" && !chain.space ? (p++, chain.path) : [];
        args.push({ k: "pipe", pipe: { decl: [], assign: false, cmds: inner.pipe, line }, path });
        continue;
      }
      args.push(this.operand(tok, line));
    }
    if (args.length > 0) cmds.push({ args });
    else if (cmds.length > 0) throw new TemplateSyntaxError(line, "missing command");
    return { pipe: cmds, end: p };
  }

  private operand(tok: Token, line: number): Arg {
    switch (tok.t) {
      case "field":
        return { k: "field", path: tok.path };
      case "var":
        if (!this.vars.includes(tok.name)) throw new TemplateSyntaxError(line, `undefined variable "${tok.name}"`);
        return { k: "var", name: tok.name, path: tok.path };
      case "dot":
        return { k: "dot" };
      case "string":
        return { k: "lit", value: tok.value };
      case "char":
        return { k: "lit", value: tok.value };
      case "number":
        return { k: "lit", value: numberOf(tok.text, line) };
      case "ident":
        if (tok.name === "true" || tok.name === "false") return { k: "lit", value: tok.name === "true" };
        if (tok.name === "nil") return { k: "lit", value: null };
        if (FUNCS.has(tok.name)) return { k: "func", name: tok.name };
        if (UNSUPPORTED_FUNCS.has(tok.name)) throw new UnsupportedTemplateError(`the function "${tok.name}"`);
        throw new TemplateSyntaxError(line, `function "${tok.name}" not defined`);
      default:
        throw new TemplateSyntaxError(line, `unexpected ${JSON.stringify(tok.t)} in operand`);
    }
  }
}

function numberOf(text: string, line: number): GoValue {
  const clean = text.replace(/_/g, "");
  if (/^[+-]?0[xX]/.test(clean)) return parseInt(clean, 16);
  if (/^[+-]?0[bB]/.test(clean)) return (clean.startsWith("-") ? -1 : 1) * parseInt(clean.replace(/^[+-]?0[bB]/, ""), 2);
  if (/^[+-]?0[oO]/.test(clean)) return (clean.startsWith("-") ? -1 : 1) * parseInt(clean.replace(/^[+-]?0[oO]/, ""), 8);
  const n = Number(clean);
  if (Number.isNaN(n)) throw new TemplateSyntaxError(line, `bad number syntax: "${text}"`);
  return /[.eE]/.test(clean) ? new GoFloat(n) : n;
}

/** Parses a template; throws TemplateSyntaxError (invalid Go) or UnsupportedTemplateError (valid, not implemented). */
export function parseTemplate(src: string): TemplateNode[] {
  const parser = new Parser(lex(src));
  const { nodes, stop } = parser.list();
  if (stop) throw new TemplateSyntaxError(stop.line, `unexpected {{${stop.word}}}`);
  return nodes;
}
