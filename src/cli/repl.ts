// The interactive session of `ollmlx run` (cmd/interactive.go): a conversation over /api/chat, """ for multi-line
// input, slash commands, Ctrl-C to stop an answer (the session goes on), Ctrl-D or /bye to leave.
import { homedir } from "node:os";
import { join } from "node:path";
import { OLLAMA_NOHISTORY } from "../config/settings.ts";
import type { ChatResponse, ShowResponse } from "../schemas/index.ts";
import { AnswerPrinter, parseThink, streamWithInterrupt, type RunOptions } from "./answer.ts";
import { ApiError, drain, type Client } from "./client.ts";
import { metricsSummary } from "./display.ts";
import { History, LineEditor } from "./line-editor.ts";
import { listModels } from "./list.ts";
import { formatParam } from "./modelfile.ts";
import { Progress, Spinner } from "./progress.ts";
import { sessionShowText, showInfo } from "./show.ts";
import { loadOrUnload } from "./stop.ts";
import * as help from "./repl-help.ts";

const PROMPT = { prompt: ">>> ", placeholder: "Send a message (/? for help)" };
const ALT_PROMPT = { prompt: "... ", placeholder: 'Use """ to end multi-line input' };

export function historyPath(): string {
  return join(homedir(), ".ollmlx", "history");
}

class Session {
  private readonly out = (text: string): void => void process.stdout.write(text);
  private readonly err = (text: string): void => void process.stderr.write(text);
  private multiline: "none" | "prompt" | "system" = "none";
  private text = "";

  constructor(
    private readonly client: Client,
    private opts: RunOptions,
    private readonly editor: LineEditor,
  ) {}

  /** One answer over /api/chat; Ctrl-C aborts the request and leaves the session as it was before the answer. */
  private async chat(): Promise<void> {
    const progress = new Progress();
    progress.add(new Spinner(""));
    const controller = new AbortController();
    const abort = () => controller.abort();
    this.editor.onInterrupt(abort);
    process.on("SIGINT", abort);
    const printer = new AnswerPrinter(this.opts, false);
    let latest: ChatResponse | undefined;
    let role = "assistant";
    const request = {
      model: this.opts.model,
      messages: this.opts.messages,
      format: this.opts.format,
      options: Object.keys(this.opts.options).length ? this.opts.options : undefined,
      think: this.opts.think,
      keep_alive: this.opts.keepAlive,
    };
    try {
      const outcome = await streamWithInterrupt(
        this.client.chat(request, controller.signal),
        (chunk) => {
          latest = chunk;
          if (chunk.message?.content || !this.opts.hideThinking) progress.stopAndClear();
          if (chunk.message?.role) role = chunk.message.role;
          printer.add(chunk.message?.thinking, chunk.message?.content ?? "");
        },
        controller.signal,
      );
      if (outcome === "cancelled") {
        progress.stopAndClear();
        if (printer.printed) this.out("\n");
        return;
      }
    } finally {
      progress.stopAndClear();
      this.editor.onInterrupt(undefined);
      process.off("SIGINT", abort);
    }
    this.out("\n\n");
    if (this.opts.verbose && latest) this.err(metricsSummary(latest));
    this.opts.messages.push({ role, content: printer.content, ...(printer.thinking ? { thinking: printer.thinking } : {}) });
  }

  private setSystem(system: string): void {
    this.opts.system = system;
    const message = { role: "system", content: system };
    const last = this.opts.messages.at(-1);
    if (last?.role === "system") this.opts.messages[this.opts.messages.length - 1] = message;
    else this.opts.messages.push(message);
    this.out("Set system message.\n");
  }

  private async set(args: string[]): Promise<void> {
    const [, what, ...rest] = args;
    switch (what) {
      case undefined:
        return this.err(help.SET);
      case "history":
      case "nohistory":
        this.editor.history.saving = what === "history";
        return;
      case "wordwrap":
      case "nowordwrap":
        this.opts.wordWrap = what === "wordwrap";
        return this.out(`Set '${what}' mode.\n`);
      case "verbose":
      case "quiet":
      case "noverbose":
        this.opts.verbose = what === "verbose";
        return this.out(`Set '${what === "verbose" ? "verbose" : "quiet"}' mode.\n`);
      case "think": {
        this.opts.think = rest[0] ? parseThink(rest[0]) : true;
        return this.out(rest[0] ? `Set 'think' mode to '${rest[0]}'.\n` : "Set 'think' mode.\n");
      }
      case "nothink":
        this.opts.think = false;
        return this.out("Set 'nothink' mode.\n");
      case "format":
        if (rest[0] !== "json") return this.out("Invalid or missing format. For 'json' mode use '/set format json'\n");
        this.opts.format = "json";
        return this.out("Set format to 'json' mode.\n");
      case "noformat":
        this.opts.format = undefined;
        return this.out("Disabled format.\n");
      case "parameter": {
        const [name, ...values] = rest;
        if (!name || values.length === 0) return this.err(help.PARAMETERS);
        try {
          this.opts.options[name] = formatParam(name, values);
        } catch (error) {
          return this.out(`Couldn't set parameter: ${JSON.stringify((error as Error).message)}\n`);
        }
        return this.out(`Set parameter '${name}' to '${values.join(", ")}'\n`);
      }
      case "system": {
        if (rest.length === 0) return this.err(help.SET);
        let line = rest.join(" ");
        if (line.startsWith('"""')) {
          line = line.slice(3);
          if (line.endsWith('"""')) line = line.slice(0, -3);
          else {
            this.multiline = "system";
            this.text = line + "\n";
            return;
          }
        }
        return this.setSystem(line);
      }
      default:
        return this.out(`Unknown command '/set ${what}'. Type /? for help\n`);
    }
  }

  private async show(what: string | undefined): Promise<void> {
    if (!what) return this.err(help.SHOW);
    const info = await this.client.show({
      model: this.opts.model,
      system: this.opts.system || undefined,
      options: Object.keys(this.opts.options).length ? this.opts.options : undefined,
    });
    if (what === "info") return this.err(showInfo(info));
    const text = sessionShowText(what, info, this.opts.system, this.opts.options);
    this.out(text ?? `Unknown command '/show ${what}'. Type /? for help\n`);
  }

  private async load(model: string): Promise<void> {
    const previous = this.opts;
    this.opts = { ...this.opts, model, messages: [] };
    this.out(`Loading model '${model}'\n`);
    try {
      const info = await this.client.show({ model });
      this.opts.parentModel = info.details?.parent_model ?? "";
      await loadOrUnload(this.client, model, this.opts.keepAlive);
    } catch (error) {
      if (error instanceof ApiError && error.message.includes("not found")) {
        this.out(`Couldn't find model '${model}'\n`);
        this.opts = previous;
        return;
      }
      throw error;
    }
  }

  /** /save: a new model from the session's model with its system message, parameters and messages (NewCreateRequest). */
  private async save(name: string): Promise<void> {
    const request = {
      model: name,
      from: this.opts.parentModel || this.opts.model,
      system: this.opts.system || undefined,
      parameters: Object.keys(this.opts.options).length ? this.opts.options : undefined,
      messages: this.opts.messages.length ? this.opts.messages : undefined,
    };
    try {
      await drain(this.client.create(request));
    } catch (error) {
      if (error instanceof ApiError && /invalid model name|is invalid/.test(error.message)) {
        return this.out(`error: The model name '${name}' is invalid\n`);
      }
      throw error;
    }
    this.out(`Created new model '${name}'\n`);
  }

  /** One entered line: a command, part of a multi-line message, or a message. Resolves false to end the session. */
  async handle(line: string): Promise<boolean> {
    if (this.multiline !== "none") {
      const closed = line.endsWith('"""');
      this.text += closed ? line.slice(0, -3) : line + "\n";
      if (!closed) return true;
      const kind = this.multiline;
      this.multiline = "none";
      if (kind === "system") {
        this.setSystem(this.text);
        this.text = "";
        return true;
      }
    } else if (line.startsWith('"""')) {
      const body = line.slice(3);
      if (body.endsWith('"""') && body.length >= 3) this.text = body.slice(0, -3);
      else {
        this.text = body + "\n";
        this.multiline = "prompt";
        return true;
      }
    } else if (line.startsWith("/")) {
      return this.command(line);
    } else this.text = line;

    const content = this.text;
    this.text = "";
    if (!content) return true;
    this.opts.messages.push({ role: "user", content });
    try {
      await this.chat();
    } catch (error) {
      if (error instanceof ApiError && /does not support thinking|invalid think value/.test(error.message)) {
        this.out(`error: ${error.message}\n`);
        return true;
      }
      throw error;
    }
    return true;
  }

  private async command(line: string): Promise<boolean> {
    const args = line.trim().split(/\s+/);
    const name = args[0]!;
    if (name.startsWith("/bye") || name.startsWith("/exit")) return false;
    if (name.startsWith("/list")) this.out(await listModels(this.client, args[1]));
    else if (name.startsWith("/load")) {
      if (args.length !== 2) this.out("Usage:\n  /load <modelname>\n");
      else await this.load(args[1]!);
    } else if (name.startsWith("/save")) {
      if (args.length !== 2) this.out("Usage:\n  /save <modelname>\n");
      else await this.save(args[1]!);
    } else if (name.startsWith("/clear")) {
      this.opts.messages = this.opts.system ? [{ role: "system", content: this.opts.system }] : [];
      this.out("Cleared session context\n");
    } else if (name.startsWith("/set")) await this.set(args);
    else if (name.startsWith("/show")) await this.show(args[1]);
    else if (name.startsWith("/help") || name.startsWith("/?")) {
      const topic = args[1]?.replace(/^\//, "");
      this.err(topic === "set" ? help.SET : topic === "show" ? help.SHOW : topic?.startsWith("shortcut") ? help.SHORTCUTS : help.USAGE);
    } else this.out(`Unknown command '${name}'. Type /? for help\n`);
    return true;
  }

  prompt() {
    return this.multiline === "none" ? PROMPT : ALT_PROMPT;
  }

  resetInput(): void {
    this.multiline = "none";
    this.text = "";
  }
}

export async function interactiveSession(client: Client, opts: RunOptions, info: ShowResponse): Promise<number> {
  // load the model first so errors (and the wait) come before the first prompt
  const progress = new Progress();
  progress.add(new Spinner(""));
  try {
    await loadOrUnload(client, opts.model, opts.keepAlive, opts.think);
  } finally {
    progress.stopAndClear();
  }
  for (const message of info.messages ?? []) {
    if (message.role === "user") process.stdout.write(`>>> ${message.content}\n`);
    else if (message.role === "assistant") process.stdout.write(`${message.content}\n\n`);
  }
  const editor = new LineEditor(new History(historyPath(), !OLLAMA_NOHISTORY.read()));
  const session = new Session(client, opts, editor);
  editor.start();
  try {
    for (;;) {
      const read = await editor.readLine(session.prompt());
      if (read.kind === "eof") {
        process.stdout.write("\n");
        return 0;
      }
      if (read.kind === "interrupt") {
        if (read.text === "") process.stdout.write("Use Ctrl + d or /bye to exit.\n");
        session.resetInput();
        continue;
      }
      if (!(await session.handle(read.text))) return 0;
    }
  } finally {
    editor.close();
  }
}
