// POST /api/generate: a completion from a prompt (server/routes.go GenerateHandler).
import { Elysia } from "elysia";
import { CapabilityError, InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { ndjsonResponse } from "../api/ndjson.ts";
import { createdAt, monotonicNs } from "../api/time.ts";
import type { GenerateParams } from "../engine/protocol.ts";
import type { ChatMessage } from "../formats/tokenizer/chat-template.ts";
import { ErrorResponse, GenerateRequest, GenerateResponse, type ToolCall } from "../schemas/index.ts";
import { aggregateGenerate } from "./aggregate.ts";
import { findModel, type AppContext } from "./context.ts";
import { infer, loadOrUnload, prepare } from "./inference.ts";
import { isHarmonyTemplate } from "../formats/tools/harmony.ts";
import { ReplyParser, readReply } from "./reply.ts";
import { promptOpensThinking } from "../formats/tools/thinking.ts";
import { detectToolFormat } from "../formats/tools/parser.ts";
import { chatTemplateSource, promptStartsInThinking, thinkingEnabled, thinkingTagsOf } from "./reply-format.ts";
import { chooseGoTemplate, renderGoPrompt } from "./go-prompt.ts";
import { rejectUnsupported } from "./unsupported.ts";

export async function* generateChunks(
  app: AppContext,
  body: GenerateRequest,
  signal: AbortSignal,
  startNs: bigint,
): AsyncGenerator<GenerateResponse> {
  const model = findModel(app.store, body.model);
  if (body.raw && (body.template || body.system || (body.context && body.context.length > 0))) {
    throw new InvalidRequestError(MESSAGES.rawModeConflict);
  }
  if (body.images && body.images.length > 0) throw new InvalidRequestError(MESSAGES.noImageInput);
  rejectUnsupported(body);
  const prepared = prepare(model, app, body, { route: "generate", name: body.model });
  // fill in the middle: only a model whose Go TEMPLATE uses .Suffix can (Ollama's "insert" capability)
  if (body.suffix && !prepared.capabilities.includes("insert")) throw new CapabilityError(model.display, ["insert"]);
  const prompt = body.prompt ?? "";
  if (prompt === "") {
    const reason = await loadOrUnload(app, prepared, signal);
    yield { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: reason };
    return;
  }

  type Continuation = Pick<GenerateParams, "context" | "returnContext">;
  let input: ({ prompt: string } & Continuation) | ({ messages: ChatMessage[] } & Continuation);
  if (body.raw) input = { prompt };
  else {
    const messages: ChatMessage[] = [];
    const system = body.system ?? prepared.layers.system;
    if (system) messages.push({ role: "system", content: system });
    // as Ollama: a request continuing from `context` does not repeat the Modelfile's MESSAGEs
    if (body.context === undefined || body.context === null) {
      for (const m of prepared.layers.messages ?? []) messages.push({ role: m.role, content: m.content ?? "" });
    }
    messages.push({ role: "user", content: prompt });
    // A Go template (the request's `template` or the model's TEMPLATE layer) renders a raw prompt: go-prompt.ts.
    const goTemplate = chooseGoTemplate(body.template, prepared.layers);
    if (body.suffix && !goTemplate) throw new CapabilityError(model.display, ["insert"]);
    const values = { messages, think: body.think, prompt, suffix: body.suffix };
    input = goTemplate ? { prompt: renderGoPrompt(goTemplate, values) } : { messages };
    // `context` (deprecated in Ollama, still honoured): the runner puts its text before the prompt, and reports the
    // conversation's token ids (prompt, then reply) for the next request to continue from.
    input = { ...input, returnContext: true, ...(body.context?.length ? { context: body.context } : {}) };
  }
  // Thinking and tool calls are read out of templated prompts only: a raw prompt is the caller's own format.
  const thinking = !body.raw && thinkingEnabled(prepared);
  const source = body.raw ? "" : chatTemplateSource(app, prepared);
  const tags = thinkingTagsOf(source);
  // As Ollama's built-in parsers do on /api/generate: a model with tools whose call syntax the template shows gets
  // its calls parsed out of the reply, sent whole on the done chunk (the bare-JSON reading is left out here: with
  // no tools offered, JSON in a completion is far more often the answer than a call).
  // The Go TEMPLATE, when the model has one, is where its tools branch (and so its call syntax) is written.
  const toolFormat = !body.raw && prepared.capabilities.includes("tools") ? (detectToolFormat(prepared.layers.template ?? "") ?? detectToolFormat(source) ?? undefined) : undefined;
  const toolCalls: ToolCall[] = [];
  // A prompt rendered here (a Go template) is looked at directly; the runner's Jinja rendering is replayed.
  const startInThinking =
    thinking &&
    ("prompt" in input
      ? promptOpensThinking(input.prompt, tags)
      : promptStartsInThinking(source, input.messages, undefined, prepared.templateKwargs, tags));
  const parser = new ReplyParser({ toolFormat, thinkingTags: thinking ? tags : undefined, startInThinking, harmony: isHarmonyTemplate(source) });
  for await (const event of readReply(infer(app, prepared, input, signal, startNs), parser)) {
    if (event.type === "parts") {
      const { thinking: thought, content } = event.parts;
      toolCalls.push(...event.parts.toolCalls);
      if (!thought && !content && !event.logprobs) continue; // only a call: it goes out with the done chunk
      const chunk: GenerateResponse = { model: body.model, created_at: createdAt(), response: content, done: false };
      if (thought) chunk.thinking = thought;
      if (event.logprobs) chunk.logprobs = event.logprobs;
      yield chunk;
    } else {
      const context = event.context ? { context: event.context } : {};
      const calls = toolCalls.length > 0 ? { tool_calls: toolCalls } : {};
      yield { model: body.model, created_at: createdAt(), response: "", done: true, done_reason: event.doneReason, ...context, ...event.metrics, ...calls };
    }
  }
}

export function generateRoutes(app: AppContext) {
  return new Elysia({ name: "generate" }).post(
    "/api/generate",
    async ({ body, request }) => {
      const chunks = generateChunks(app, body, request.signal, monotonicNs());
      if (body.stream === false) return Response.json(await aggregateGenerate(chunks));
      return ndjsonResponse(chunks, { signal: request.signal });
    },
    {
      body: GenerateRequest,
      parse: "json",
      response: { 200: GenerateResponse, 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse },
      detail: {
        summary: "Generate a completion",
        description:
          "Streams NDJSON GenerateResponse chunks (stream:true, the default) or returns one aggregated object. " +
          "An empty prompt loads the model (done_reason \"load\"); with keep_alive 0 it unloads it (\"unload\").",
        tags: ["generate"],
      },
    },
  );
}
