// `ollmlx run MODEL [PROMPT]` (cmd.go RunHandler/generate): a prompt, or piped stdin, is one streamed
// /api/generate; a terminal with no prompt opens the interactive session; an embedding model prints the prompt's
// vector (embed.ts). A model that is not here is pulled first.
import { formatGoDuration, parseGoDuration } from "../api/duration.ts";
import { ApiError, isAbort, type Client } from "./client.ts";
import { metricsSummary, thinkingClosing, thinkingOpening, WordWrapper, type Metrics } from "./display.ts";
import { Progress, Spinner } from "./progress.ts";
import { pullModel } from "./pull.ts";
import { showRequest, type ShowResponse } from "./show.ts";

export type Think = boolean | string;

export interface RunOptions {
  model: string;
  parentModel: string;
  prompt: string;
  format?: unknown;
  think?: Think;
  hideThinking: boolean;
  keepAlive?: string | number;
  verbose: boolean;
  wordWrap: boolean;
  system: string;
  options: Record<string, unknown>;
  messages: { role: string; content: string; thinking?: string }[];
}

export function parseThink(value: string): Think {
  if (value === "" || value === "true") return true;
  if (value === "false") return false;
  if (["high", "medium", "low", "max"].includes(value)) return value;
  throw new Error(`invalid value for --think: "${value}" (must be true, false, high, medium, or low)`);
}

/** --format: "json", or a JSON schema given as JSON text. */
export function parseFormat(value: string | undefined): unknown {
  if (!value) return undefined;
  if (value.trim().startsWith("{")) return JSON.parse(value) as unknown;
  return value;
}

/** --keepalive is a Go duration; it goes on the wire as api.Duration marshals it ("5m0s", or -1 for forever). */
export function parseKeepAliveFlag(value: string | undefined): string | number | undefined {
  if (value === undefined || value === "") return undefined;
  const ns = parseGoDuration(value);
  return ns < 0n ? -1 : formatGoDuration(ns);
}

/** The model's details; a 404 pulls it first, as Ollama's run does. */
export async function showOrPull(client: Client, model: string, insecure = false): Promise<ShowResponse> {
  try {
    return await showRequest(client, model);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    await pullModel(client, model, insecure);
    return showRequest(client, model);
  }
}

/** Prints a streamed answer: thinking between markers (unless hidden), content word-wrapped. */
export class AnswerPrinter {
  private thinkingOpen = false;
  private thinkingText = "";
  private wrapper: WordWrapper;
  content = "";
  thinking = "";
  printed = false;

  constructor(
    private readonly opts: Pick<RunOptions, "hideThinking" | "wordWrap">,
    private readonly plain: boolean,
    private readonly write: (text: string) => void = (t) => process.stdout.write(t),
  ) {
    this.wrapper = this.newWrapper();
  }

  private newWrapper(): WordWrapper {
    const width = this.opts.wordWrap && process.stdout.isTTY ? process.stdout.columns || 0 : 0;
    return new WordWrapper(this.write, width);
  }

  add(thinking: string | undefined, content: string): void {
    if (thinking) {
      this.thinking += thinking;
      if (!this.opts.hideThinking) {
        if (!this.thinkingOpen) {
          this.write(thinkingOpening(this.plain));
          this.thinkingOpen = true;
        }
        this.thinkingText += thinking;
        this.wrapper.push(thinking);
        this.printed = true;
      }
    }
    if (this.thinkingOpen && content) {
      if (!this.thinkingText.endsWith("\n")) this.write("\n");
      this.write(thinkingClosing(this.plain));
      this.thinkingOpen = false;
      this.wrapper = this.newWrapper();
    }
    if (content) {
      this.content += content;
      this.wrapper.push(content);
      this.printed = true;
    }
  }
}

/**
 * Resolves to `undefined` when Ctrl-C (SIGINT) cancelled the request: the aborted fetch closes the connection and
 * the server stops generating.
 */
export async function streamWithInterrupt<T>(
  client: Client,
  path: string,
  body: unknown,
  onChunk: (chunk: T) => void,
  signal: AbortSignal,
): Promise<"done" | "cancelled"> {
  try {
    await client.stream<T>(path, body, onChunk, signal);
    return "done";
  } catch (error) {
    if (isAbort(error) || signal.aborted) return "cancelled";
    throw error;
  }
}

interface GenerateChunk extends Metrics {
  response: string;
  thinking?: string;
  done: boolean;
}

export async function generateOnce(client: Client, opts: RunOptions): Promise<number> {
  const progress = new Progress();
  progress.add(new Spinner(""));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on("SIGINT", onSigint);
  const printer = new AnswerPrinter(opts, !process.stdout.isTTY);
  let latest: GenerateChunk | undefined;
  const request = {
    model: opts.model,
    prompt: opts.prompt,
    format: opts.format,
    system: opts.system || undefined,
    options: Object.keys(opts.options).length ? opts.options : undefined,
    keep_alive: opts.keepAlive,
    think: opts.think,
  };
  try {
    const outcome = await streamWithInterrupt<GenerateChunk>(
      client,
      "/api/generate",
      request,
      (chunk) => {
        latest = chunk;
        if (chunk.response || !opts.hideThinking) progress.stopAndClear();
        printer.add(chunk.thinking, chunk.response);
      },
      controller.signal,
    );
    if (outcome === "cancelled") return 0;
  } finally {
    progress.stopAndClear();
    process.off("SIGINT", onSigint);
  }
  if (opts.prompt) process.stdout.write("\n\n");
  if (latest?.done && opts.verbose) process.stderr.write(metricsSummary(latest));
  return 0;
}

/** Whether thinking is on when the user did not say (cmd.go inferThinkingOption): on for models that can. */
function inferThink(info: ShowResponse, explicit: Think | undefined): Think | undefined {
  if (explicit !== undefined) return explicit;
  return info.capabilities?.includes("thinking") ? true : undefined;
}

export async function run(client: Client, args: string[], flags: Map<string, string>): Promise<number> {
  const [model, ...words] = args as [string, ...string[]];
  const explicitThink = flags.has("think") ? parseThink(flags.get("think")!) : undefined;
  const opts: RunOptions = {
    model,
    parentModel: "",
    prompt: "",
    format: parseFormat(flags.get("format")),
    hideThinking: flags.get("hidethinking") === "true",
    keepAlive: parseKeepAliveFlag(flags.get("keepalive")),
    verbose: flags.get("verbose") === "true",
    wordWrap: flags.get("nowordwrap") !== "true",
    system: "",
    options: {},
    messages: [],
  };
  let interactive = true;
  const prompts = [...words];
  if (!process.stdin.isTTY) {
    // piped input comes before the prompt's words (empty input, e.g. </dev/null, adds nothing)
    const piped = await new Response(Bun.stdin.stream()).text();
    if (piped) prompts.unshift(piped);
    opts.wordWrap = false;
    interactive = false;
  }
  opts.prompt = prompts.join(" ");
  if (prompts.length > 0 || !process.stdout.isTTY) interactive = false;

  const info = await showOrPull(client, model, flags.get("insecure") === "true");
  if (info.capabilities?.includes("embedding")) {
    const { embedOnce, parseDimensions } = await import("./embed.ts");
    const truncate = flags.has("truncate") ? flags.get("truncate") === "true" : undefined;
    const { keepAlive, verbose } = opts;
    return embedOnce(client, { model, text: opts.prompt, keepAlive, verbose, truncate, dimensions: parseDimensions(flags.get("dimensions")) });
  }
  opts.think = inferThink(info, explicitThink);
  opts.parentModel = info.details?.parent_model ?? "";
  if (!interactive) return generateOnce(client, opts);
  const { interactiveSession } = await import("./repl.ts");
  return interactiveSession(client, opts, info);
}
