// A request checked and decided before anything loads, as Ollama's GenerateHandler and ChatHandler do up to
// r.Completion: options merged Ollama's way, keep_alive, and every decision about the turn made once, here —
// whether the model thinks, the prompt (rendered in the server for both template kinds: render.ts), how its reply is
// read back (reply.ts), and the one output constraint (`format`, or a call that tool_choice forces). Nothing after
// prepare() changes them: the routes run what it returns (inference.ts infer) and shape the chunks.
import { CapabilityError, InvalidRequestError, MESSAGES } from "../api/errors.ts";
import { parseKeepAlive } from "../api/duration.ts";
import { formatConstraint } from "../api/format.ts";
import { resolveOptions, type ModelOptions } from "../api/options.ts";
import type { GenerateParams, OutputConstraint, SamplingParams } from "../engine/protocol.ts";
import type { ToolFormat } from "../formats/tools/formats.ts";
import { detectToolFormat } from "../formats/tools/parser.ts";
import { promptOpensThinking } from "../formats/tools/thinking.ts";
import type { GenerateRequest, inferenceFields, Message, Tool, ToolChoice } from "../schemas/index.ts";
import type { StoredModel } from "../store/store.ts";
import type { AppContext } from "./context.ts";
import { chatConversation, generateConversation } from "./conversation.ts";
import { chooseGoTemplate } from "./go-prompt.ts";
import { capabilitiesOf, readModelLayers, type ModelLayers } from "./model-layers.ts";
import { renderPrompt, type PromptInput, type RenderedPrompt } from "./render.ts";
import type { ReplyOptions } from "./reply.ts";
import { isHarmonyTemplate } from "../formats/tools/harmony.ts";
import { chatTemplateSource, thinkingTagsOf, toolFormatOf } from "./reply-format.ts";
import { modelTokenizer } from "./tokenizers.ts";
import { allowedTools, checkToolMessages, checkTools, forcedCallConstraint, forcesCall } from "./tool-choice.ts";

/** Fields generate and chat share (schemas' inferenceFields), after their schemas accepted them. */
export type CommonFields = Omit<Pick<GenerateRequest, keyof typeof inferenceFields>, "stream" | "_debug_render_only">;

/** /api/chat's turn: the conversation (roles normalized) and its tools. */
export interface ChatTurn {
  route: "chat";
  messages: Message[];
  tools: Tool[];
  toolChoice?: ToolChoice | null;
  /** what Ollama's chat body has no field for: a thought's token budget (Anthropic's thinking.budget_tokens) */
  thinkBudget?: number;
}

/** /api/generate's turn. */
export interface GenerateTurn {
  route: "generate";
  prompt: string;
  raw: boolean;
  system?: string | null;
  template?: string | null;
  suffix?: string | null;
  context?: number[] | null;
}

/** A request checked against what this server and the model can do, with every decision about it made. */
export interface PreparedRequest {
  model: StoredModel;
  layers: ModelLayers;
  capabilities: string[];
  keepAliveMs: number | undefined;
  options: SamplingParams;
  /** what the runner is asked: the rendered prompt, options, constraint; undefined for an empty turn (load/unload) */
  params: GenerateParams | undefined;
  /** how the reply is read back: thinking tags (and whether the prompt opened a thought), tool-call syntax */
  reply: ReplyOptions;
}

/** `name` is the model as the client wrote it, for Ollama's `"NAME" does not support chat`. */
export async function prepare(app: AppContext, model: StoredModel, body: CommonFields, turn: ChatTurn | GenerateTurn, name: string): Promise<PreparedRequest> {
  const keepAliveMs = parseKeepAlive(body.keep_alive);
  const format = formatConstraint(body.format);
  const topLogprobs = body.top_logprobs ?? 0;
  if (topLogprobs < 0 || topLogprobs > 20) throw new InvalidRequestError(MESSAGES.topLogprobsRange);
  const layers = readModelLayers(app.store, model);
  const capabilities = capabilitiesOf(model, layers);
  // an embedding model (Ollama's errCapabilityCompletion, answered by GenerateHandler/ChatHandler)
  if (!capabilities.includes("completion")) throw new InvalidRequestError(`${JSON.stringify(name)} does not support ${turn.route}`);
  const options = samplingParams(resolveOptions({ model: layers.params, request: body.options }), body.logprobs === true, topLogprobs);
  const canThink = capabilities.includes("thinking");
  if (!canThink && body.think !== undefined && body.think !== null && body.think !== false) {
    throw CapabilityError.quoted(model.display, "thinking");
  }
  const offered = turn.route === "chat" ? checkChatTools(model, capabilities, turn) : [];
  if (turn.route === "generate" && turn.suffix && !capabilities.includes("insert")) throw new CapabilityError(model.display, ["insert"]);
  const base = { model, layers, capabilities, keepAliveMs, options };
  if (turn.route === "chat" ? turn.messages.length === 0 : turn.prompt === "") return { ...base, params: undefined, reply: {} };

  const templateKwargs = canThink ? thinkingKwargs(body.think, turn) : undefined;
  const thinking = templateKwargs?.enable_thinking === true;
  // Thinking and tool calls are read out of templated prompts only: a raw prompt is the caller's own format.
  const templated = turn.route === "chat" || !turn.raw;
  const source = templated ? chatTemplateSource(app.store, model, layers) : "";
  const tags = thinkingTagsOf(source);
  const fit = { numCtx: options.num_ctx, truncate: body.truncate !== false };
  const tokenizer = () => modelTokenizer(app.store, model);
  let prompt: RenderedPrompt;
  let toolFormat: ToolFormat | undefined;
  if (turn.route === "chat") {
    const messages = chatConversation(layers, turn.messages, canThink ? tags : undefined);
    const goTemplate = chooseGoTemplate(undefined, layers);
    prompt = await renderPrompt({ messages, tools: offered, think: body.think, templateKwargs, ...(goTemplate ? { goTemplate } : {}) }, fit, tokenizer);
    toolFormat = offered.length > 0 ? toolFormatOf(source) : undefined;
  } else if (turn.raw) {
    prompt = { text: turn.prompt, rendered: false };
  } else {
    prompt = await renderPrompt(generateInput(model, layers, turn, body, templateKwargs), fit, tokenizer);
    // As Ollama's built-in parsers do on /api/generate: a model with tools whose call syntax the template shows gets
    // its calls parsed out of the reply, sent whole on the done chunk (the bare-JSON reading is left out here: with
    // no tools offered, JSON in a completion is far more often the answer than a call). The Go TEMPLATE, when the
    // model has one, is where its tools branch (and so its call syntax) is written.
    if (capabilities.includes("tools")) toolFormat = detectToolFormat(layers.template ?? "") ?? detectToolFormat(source) ?? undefined;
  }
  const readsThinking = templated && thinking;
  const startInThinking = readsThinking && promptOpensThinking(prompt.text, tags);

  let constraint: OutputConstraint | undefined = format;
  if (turn.route === "chat" && toolFormat && forcesCall(turn.toolChoice)) {
    if (body.format) throw new InvalidRequestError("tool_choice that forces a call cannot be combined with format");
    // A prompt that opened a thought gets it closed first, so the forced call is content, not thinking.
    constraint = forcedCallConstraint(toolFormat, allowedTools(turn.tools, turn.toolChoice), startInThinking ? `${tags.close}\n\n` : "");
  }
  const budget = turn.route === "chat" && readsThinking && turn.thinkBudget !== undefined ? { thinkBudget: turn.thinkBudget } : {};
  const params: GenerateParams = {
    prompt: prompt.text,
    ...(prompt.rendered ? { rendered: true } : {}),
    ...(turn.route === "generate" && !turn.raw ? { returnContext: true } : {}),
    ...(thinking ? { thinking: true } : {}),
    ...(constraint ? { constraint } : {}),
    ...budget,
    ...(body.truncate === false ? { truncate: false } : {}),
    ...(body.shift === false ? { shift: false } : {}),
    options,
  };
  const reply: ReplyOptions = {
    ...(toolFormat ? { toolFormat } : {}),
    ...(readsThinking ? { thinkingTags: tags, startInThinking } : {}),
    // gpt-oss's channels: read whatever `think` says (the model reasons in its analysis channel regardless)
    ...(templated && isHarmonyTemplate(source) ? { harmony: true } : {}),
  };
  return { ...base, params, reply };
}

/**
 * enable_thinking (and reasoning_effort) for a model that can think. Ollama turns thinking on when the request
 * leaves it unset, with a format too: the thought is free and the answer constrained (Ollama in two passes, here in
 * one: constrain/thinking-gate.ts). A call that tool_choice forces starts at the first token, so thinking stays off
 * then unless asked for: the template renders the turn the way the model answers without thinking.
 */
function thinkingKwargs(think: CommonFields["think"], turn: ChatTurn | GenerateTurn): Record<string, unknown> {
  const unset = think === undefined || think === null;
  const forced = turn.route === "chat" && forcesCall(turn.toolChoice);
  const kwargs: Record<string, unknown> = { enable_thinking: unset ? !forced : think !== false };
  if (typeof think === "string") kwargs.reasoning_effort = think;
  return kwargs;
}

/** Chat's tools checked; returns those the template is told about ("none": none, so the model cannot call them). */
function checkChatTools(model: StoredModel, capabilities: string[], turn: ChatTurn): Tool[] {
  if (turn.tools.length > 0 && !capabilities.includes("tools")) throw new CapabilityError(model.display, ["tools"]);
  checkTools(turn.tools);
  checkToolMessages(turn.messages);
  allowedTools(turn.tools, turn.toolChoice);
  return turn.toolChoice === "none" ? [] : turn.tools;
}

/** /api/generate's render input: a Go template (the request's `template` or the model's TEMPLATE) or the Jinja one. */
function generateInput(model: StoredModel, layers: ModelLayers, turn: GenerateTurn, body: CommonFields, templateKwargs: Record<string, unknown> | undefined): PromptInput {
  const continues = turn.context !== undefined && turn.context !== null;
  const messages = generateConversation(layers, { prompt: turn.prompt, system: turn.system, continues });
  const goTemplate = chooseGoTemplate(turn.template, layers);
  if (turn.suffix && !goTemplate) throw new CapabilityError(model.display, ["insert"]);
  return {
    messages,
    think: body.think,
    prompt: turn.prompt,
    suffix: turn.suffix,
    templateKwargs,
    ...(goTemplate ? { goTemplate } : {}),
    ...(turn.context?.length ? { context: turn.context } : {}),
  };
}

function samplingParams(o: ModelOptions, logprobs: boolean, topLogprobs: number): SamplingParams {
  return {
    temperature: o.temperature,
    top_k: o.top_k,
    top_p: o.top_p,
    min_p: o.min_p,
    repeat_penalty: o.repeat_penalty,
    repeat_last_n: o.repeat_last_n,
    presence_penalty: o.presence_penalty,
    frequency_penalty: o.frequency_penalty,
    seed: o.seed,
    num_predict: o.num_predict,
    num_ctx: o.num_ctx,
    num_keep: o.num_keep,
    stop: o.stop,
    ...(logprobs ? { logprobs: true, top_logprobs: topLogprobs } : {}),
  };
}
