// Ollama's TEMPLATE: a Go text/template rendered over template.Values (template/template.go Parse and Execute).
// Three ways to execute, as Ollama: prompt+suffix (fill in the middle); a template that uses .Messages gets the
// whole conversation; any other ("legacy") template is rendered once per user/assistant turn with .System, .Prompt
// and .Response, the last turn cut right after {{ .Response }} so the prompt ends where the model should continue.
import { execute } from "./exec.ts";
import { parseTemplate, type Arg, type Pipe, type TemplateNode } from "./parser.ts";
import { templateMessage, templateTools, type TemplateMessageInput, type TemplateToolInput } from "./template-data.ts";
import { GoMap, type GoValue } from "./values.ts";

export { TemplateSyntaxError } from "./lexer.ts";
export { UnsupportedTemplateError } from "./parser.ts";
export { TemplateExecError } from "./exec.ts";
export type { TemplateMessageInput, TemplateToolInput } from "./template-data.ts";

/** template.Values: what a request gives the template. */
export interface TemplateValues {
  messages?: TemplateMessageInput[];
  tools?: TemplateToolInput[];
  prompt?: string;
  suffix?: string;
  think?: boolean;
  /** the think level when the request gave a string ("low", "medium", "high") */
  thinkLevel?: string;
  /** whether the request set `think` at all */
  isThinkSet?: boolean;
}

const RESPONSE_ACTION: TemplateNode = { k: "action", pipe: { decl: [], assign: false, cmds: [{ args: [{ k: "field", path: ["Response"] }] }], line: 0 } };

export class GoTemplate {
  /** lower-cased field and variable names the template mentions (Template.Vars) */
  readonly vars: ReadonlySet<string>;
  private readonly nodes: TemplateNode[];

  private constructor(
    readonly source: string,
    nodes: TemplateNode[],
  ) {
    const vars = new Set<string>();
    collectNames(nodes, vars);
    // A template that never mentions .Response or .Messages gets {{ .Response }} appended (Parse).
    this.nodes = vars.has("messages") || vars.has("response") ? nodes : [...nodes, RESPONSE_ACTION];
    this.vars = vars;
  }

  /** Throws TemplateSyntaxError for invalid Go templates, UnsupportedTemplateError for constructs not implemented. */
  static parse(source: string): GoTemplate {
    return new GoTemplate(source, parseTemplate(source.replaceAll("\r\n", "\n")));
  }

  /** Renders the prompt; throws TemplateExecError when the template fails on these values. */
  execute(values: TemplateValues): string {
    const think = { Think: values.think ?? false, ThinkLevel: values.thinkLevel ?? "", IsThinkSet: values.isThinkSet ?? false };
    if (values.prompt && values.suffix) {
      return execute(this.nodes, root({ Prompt: values.prompt, Suffix: values.suffix, Response: "", ...think }));
    }
    const { system, messages } = collate(values.messages ?? []);
    if (this.vars.has("messages")) {
      return execute(
        this.nodes,
        root({ System: system, Messages: messages.map(templateMessage), Tools: templateTools(values.tools), Response: "", ...think }),
      );
    }
    return this.executeLegacy(messages, think);
  }

  private executeLegacy(messages: TemplateMessageInput[], think: Record<string, GoValue>): string {
    let out = "";
    let system = "";
    let prompt = "";
    let response = "";
    const turn = () => {
      out += execute(this.nodes, root({ System: system, Prompt: prompt, Response: response, ...think }));
      system = prompt = response = "";
    };
    for (const m of messages) {
      if (m.role === "system") {
        if (prompt || response) turn();
        system = m.content ?? "";
      } else if (m.role === "user") {
        if (response) turn();
        prompt = m.content ?? "";
      } else if (m.role === "assistant") response = m.content ?? "";
    }
    return out + execute(cutAfterResponse(this.nodes), root({ System: system, Prompt: prompt, Response: response, ...think }));
  }
}

function root(fields: Record<string, GoValue>): GoMap {
  return new GoMap(new Map(Object.entries(fields)));
}

/** Consecutive messages of one role (tool results excepted) merge with a blank line; system texts are also joined. */
export function collate(msgs: TemplateMessageInput[]): { system: string; messages: TemplateMessageInput[] } {
  const system: string[] = [];
  const out: TemplateMessageInput[] = [];
  for (const m of msgs) {
    if (m.role === "system") system.push(m.content ?? "");
    const last = out.at(-1);
    if (last && last.role === m.role && m.role !== "tool") out[out.length - 1] = { ...last, content: `${last.content ?? ""}\n\n${m.content ?? ""}` };
    else out.push(m);
  }
  return { system: system.join("\n\n"), messages: out };
}

function collectNames(nodes: TemplateNode[], into: Set<string>): void {
  const pipe = (p: Pipe) => p.cmds.forEach((c) => c.args.forEach(arg));
  const arg = (a: Arg) => {
    if (a.k === "field") a.path.forEach((n) => into.add(n.toLowerCase()));
    else if (a.k === "var") [a.name, ...a.path].forEach((n) => into.add(n.toLowerCase()));
    else if (a.k === "pipe") pipe(a.pipe);
  };
  for (const n of nodes) {
    if (n.k === "action") pipe(n.pipe);
    else if (n.k === "if" || n.k === "with" || n.k === "range") {
      pipe(n.pipe);
      collectNames(n.list, into);
      if (n.elseList) collectNames(n.elseList, into);
    }
  }
}

/**
 * The template up to and including the first {{ .Response }} (template.go deleteNode): everything after it is
 * dropped, so the last turn's prompt ends where the model's answer begins. Branch conditions are not searched.
 */
function cutAfterResponse(nodes: TemplateNode[]): TemplateNode[] {
  let cut = false;
  const pipe = (p: Pipe): Pipe | null => {
    const cmds = [];
    for (const c of p.cmds) {
      const args: Arg[] = [];
      for (const a of c.args) {
        if (cut) continue;
        if (a.k === "field" && a.path.includes("Response")) {
          cut = true;
          args.push(a);
        } else if (a.k === "pipe") {
          const inner = pipe(a.pipe);
          if (inner) args.push({ ...a, pipe: inner });
        } else args.push(a);
      }
      if (args.length === 0) return null;
      cmds.push({ args });
    }
    return cmds.length ? { ...p, cmds } : null;
  };
  const list = (ns: TemplateNode[]): TemplateNode[] => {
    const out: TemplateNode[] = [];
    for (const n of ns) {
      if (cut) break;
      if (n.k === "action") {
        const p = pipe(n.pipe);
        if (p) out.push({ ...n, pipe: p });
      } else if (n.k === "if" || n.k === "with" || n.k === "range") {
        const body = list(n.list);
        out.push({ ...n, list: body, ...(n.elseList ? { elseList: list(n.elseList) } : {}) });
      } else out.push(n);
    }
    return out;
  };
  return list(nodes);
}
