// Executes a parsed Go template over Go values (text/template/exec.go): dot, variables scoped to their control
// structure, field chains, pipelines (the previous command's value is the last argument of the next), if/with/range
// with else branches, break/continue.
import { callFunc, FuncError } from "./funcs.ts";
import type { Arg, Command, ControlNode, Pipe, TemplateNode } from "./parser.ts";
import { formatValue, GoMap, GoStruct, isTrue, itemsOf, typeName, type GoValue } from "./values.ts";

/** A template that failed while executing (Ollama answers 500 with this message). */
export class TemplateExecError extends Error {
  constructor(line: number, message: string) {
    super(`template: :${line}: executing "": ${message}`);
    this.name = "TemplateExecError";
  }
}

class BreakSignal {}
class ContinueSignal {}

/** Far beyond any context window (a million tokens is a few million characters). */
const MAX_OUTPUT = 64 * 1024 * 1024;

/** Iterations of all ranges together, for the same reason (a loop that prints nothing still burns CPU). */
const MAX_STEPS = 10_000_000;

function* countTo(n: number): Generator<[number, number]> {
  for (let i = 0; i < n; i++) yield [i, i];
}

/** No value passed down a pipeline (distinct from nil, which is a value). */
const NONE = Symbol("none");
type Final = GoValue | typeof NONE;

class Execution {
  private readonly vars: { name: string; value: GoValue }[];
  private readonly out: string[] = [];
  private line = 0;
  private size = 0;
  private steps = 0;

  constructor(root: GoValue) {
    this.vars = [{ name: "$", value: root }];
  }

  run(nodes: TemplateNode[], dot: GoValue): string {
    this.walk(nodes, dot);
    return this.out.join("");
  }

  private fail(message: string): never {
    throw new TemplateExecError(this.line, message);
  }

  /** A prompt is bounded: a runaway template (`range 1000000000`) fails instead of exhausting memory. */
  private write(text: string): void {
    this.size += text.length;
    if (this.size > MAX_OUTPUT) this.fail(`the rendered prompt exceeds ${MAX_OUTPUT} characters`);
    this.out.push(text);
  }

  private walk(nodes: TemplateNode[], dot: GoValue): void {
    for (const node of nodes) {
      switch (node.k) {
        case "text":
          this.write(node.text);
          break;
        case "action": {
          const value = this.pipe(node.pipe, dot);
          // an action that declares a variable prints nothing
          if (node.pipe.decl.length === 0) this.write(formatValue(value));
          break;
        }
        case "if":
        case "with": {
          const mark = this.vars.length;
          const value = this.pipe(node.pipe, dot);
          if (isTrue(value)) this.walk(node.list, node.k === "with" ? value : dot);
          else if (node.elseList) this.walk(node.elseList, dot);
          this.vars.length = mark;
          break;
        }
        case "range":
          this.range(node, dot);
          break;
        case "break":
          throw new BreakSignal();
        case "continue":
          throw new ContinueSignal();
      }
    }
  }

  private range(node: ControlNode, dot: GoValue): void {
    const mark = this.vars.length;
    const value = this.pipe({ ...node.pipe, decl: [] }, dot);
    let entries: Iterable<[GoValue, GoValue]>;
    const items = itemsOf(value);
    if (items) entries = items.map((v, i) => [i, v]);
    else if (value instanceof GoMap) entries = value.sortedKeys().map((k) => [k, value.entries.get(k) ?? null]);
    else if (typeof value === "number") {
      // Go 1.22: range over an int counts from 0
      if (node.pipe.decl.length > 1) this.fail("can't use two variables to range over an integer");
      entries = countTo(value);
    } else if (value === null) entries = [];
    else this.fail(`range can't iterate over ${formatValue(value)}`);
    let iterations = 0;
    for (const [key, elem] of entries) {
      iterations++;
      if (++this.steps > MAX_STEPS) this.fail(`range ran more than ${MAX_STEPS} iterations`);
      const [first, second] = node.pipe.decl;
      if (second !== undefined) this.vars.push({ name: first!, value: key }, { name: second, value: elem });
      else if (first !== undefined) this.vars.push({ name: first, value: elem });
      try {
        this.walk(node.list, elem);
      } catch (e) {
        if (e instanceof BreakSignal) {
          this.vars.length = mark;
          break;
        }
        if (!(e instanceof ContinueSignal)) throw e;
      }
      this.vars.length = mark;
    }
    if (iterations === 0 && node.elseList) this.walk(node.elseList, dot);
    this.vars.length = mark;
  }

  private pipe(pipe: Pipe, dot: GoValue): GoValue {
    this.line = pipe.line;
    let value: Final = NONE;
    for (const cmd of pipe.cmds) value = this.command(cmd, dot, value);
    const result = value === NONE ? null : value;
    if (pipe.assign) {
      const v = this.vars.findLast((x) => x.name === pipe.decl[0]);
      if (!v) this.fail(`undefined variable: ${pipe.decl[0]}`);
      v.value = result;
    } else for (const name of pipe.decl) this.vars.push({ name, value: result });
    return result;
  }

  private command(cmd: Command, dot: GoValue, final: Final): GoValue {
    const [first, ...rest] = cmd.args;
    if (first!.k === "func") {
      const name = first!.name;
      if (name === "and" || name === "or") return this.logic(name, rest, dot, final);
      const args = rest.map((a) => this.arg(a, dot));
      if (final !== NONE) args.push(final);
      return this.call(name, args);
    }
    if (rest.length > 0 || final !== NONE) this.fail(`can't give argument to non-function ${describe(first!)}`);
    return this.arg(first!, dot);
  }

  /** and/or return the first argument that decides the result, evaluating no further (Go 1.18). */
  private logic(name: "and" | "or", args: Arg[], dot: GoValue, final: Final): GoValue {
    const thunks: (() => GoValue)[] = args.map((a) => () => this.arg(a, dot));
    if (final !== NONE) thunks.push(() => final);
    if (thunks.length === 0) this.fail(`wrong number of args for ${name}: want at least 1 got 0`);
    let v: GoValue = null;
    for (const thunk of thunks) {
      v = thunk();
      if (isTrue(v) === (name === "or")) return v;
    }
    return v;
  }

  private call(name: string, args: GoValue[]): GoValue {
    try {
      return callFunc(name, args);
    } catch (e) {
      if (e instanceof FuncError) this.fail(`error calling ${name}: ${e.message}`);
      throw e;
    }
  }

  private arg(arg: Arg, dot: GoValue): GoValue {
    switch (arg.k) {
      case "dot":
        return dot;
      case "lit":
        return arg.value;
      case "func":
        return arg.name === "and" || arg.name === "or" ? this.logic(arg.name, [], dot, NONE) : this.call(arg.name, []);
      case "field":
        return this.fields(dot, arg.path);
      case "var": {
        const v = this.vars.findLast((x) => x.name === arg.name);
        if (!v) this.fail(`undefined variable: ${arg.name}`);
        return this.fields(v.value, arg.path);
      }
      case "pipe":
        return this.fields(this.pipe(arg.pipe, dot), arg.path);
    }
  }

  private fields(receiver: GoValue, path: string[]): GoValue {
    let v = receiver;
    for (const name of path) {
      if (v instanceof GoStruct) {
        if (!(name in v.fields)) this.fail(`can't evaluate field ${name} in type ${v.type.name}`);
        v = v.fields[name]!;
      } else if (v instanceof GoMap) v = v.entries.has(name) ? v.entries.get(name)! : v.zero();
      else if (v === null) this.fail(`nil pointer evaluating interface {}.${name}`);
      else this.fail(`can't evaluate field ${name} in type ${typeName(v)}`);
    }
    return v;
  }
}

function describe(arg: Arg): string {
  switch (arg.k) {
    case "field":
      return `.${arg.path.join(".")}`;
    case "var":
      return [arg.name, ...arg.path].join(".");
    case "lit":
      return formatValue(arg.value);
    default:
      return arg.k;
  }
}

/** Renders parsed nodes with `data` as dot and as `$`. */
export function execute(nodes: TemplateNode[], data: GoValue): string {
  return new Execution(data).run(nodes, data);
}
