// `ollmlx run MODEL [PROMPT]` (cmd.go RunHandler/generate): a prompt, or piped stdin, is one streamed
// /api/generate; a terminal with no prompt opens the interactive session; an embedding model prints the prompt's
// vector (embed.ts). A model that is not here is pulled first.
import { formatGoDuration, parseGoDuration } from "../api/duration.ts";
import type { Format, GenerateResponse, ShowResponse, Think } from "../schemas/index.ts";
import { AnswerPrinter, parseThink, streamWithInterrupt, type RunOptions } from "./answer.ts";
import { ApiError, type Client } from "./client.ts";
import { metricsSummary } from "./display.ts";
import { Progress, Spinner } from "./progress.ts";
import { pullModel } from "./pull.ts";

/** --format: "json", or a JSON schema given as JSON text (any other text goes as it is: the server refuses it). */
export function parseFormat(value: string | undefined): Format | undefined {
  if (!value) return undefined;
  if (value.trim().startsWith("{")) return JSON.parse(value) as Format;
  return value as Format;
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
    return await client.show({ model });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    await pullModel(client, model, insecure);
    return client.show({ model });
  }
}

export async function generateOnce(client: Client, opts: RunOptions): Promise<number> {
  const progress = new Progress();
  progress.add(new Spinner(""));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on("SIGINT", onSigint);
  const printer = new AnswerPrinter(opts, !process.stdout.isTTY);
  let latest: GenerateResponse | undefined;
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
    const outcome = await streamWithInterrupt(
      client.generate(request, controller.signal),
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
