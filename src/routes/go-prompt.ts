// The prompt of /api/generate and /api/chat when a Go template renders it (server/routes.go GenerateHandler, "direct template
// execution"). Which template wins:
//   1. the request's `template` (Ollama: it overrides the Modelfile TEMPLATE);
//   2. the model's TEMPLATE layer: Ollama renders it rather than the weights' Jinja template (OLLAMA_GO_TEMPLATE
//      defaults to true), and a layer exists only when someone wrote it: a Modelfile TEMPLATE, /api/create
//      `template`, or a registry model's own layer (ollmlx never derives one from the weights). A layer that uses a
//      construct this renderer lacks falls back to the weights' chat template, which the model also carries;
//   3. otherwise undefined: the model's Jinja chat template renders it (render.ts).
// The rendered text goes to the runner as the prompt, which it tokenizes adding BOS where the tokenizer has one and
// the text does not start with it.
import { InvalidRequestError, OllamaError } from "../api/errors.ts";
import {
  GoTemplate,
  TemplateExecError,
  TemplateSyntaxError,
  UnsupportedTemplateError,
  type TemplateMessageInput,
  type TemplateToolInput,
} from "../formats/tokenizer/go-template/index.ts";
import type { ChatMessage } from "../formats/tokenizer/chat-template.ts";
import type { Think } from "../schemas/index.ts";
import type { ModelLayers } from "./model-layers.ts";

/** GoTemplate.parse with errors mapped to Ollama's statuses: invalid Go is a 500 (as Ollama), a gap of ours a 400. */
function parseOrThrow(source: string): GoTemplate {
  try {
    return GoTemplate.parse(source);
  } catch (e) {
    if (e instanceof TemplateSyntaxError) throw new OllamaError(500, e.message);
    if (e instanceof UnsupportedTemplateError) throw new InvalidRequestError(e.message);
    throw e;
  }
}

/** The Go template that renders this request's prompt, or undefined when the model's Jinja template should. */
export function chooseGoTemplate(requestTemplate: string | null | undefined, layers: ModelLayers): GoTemplate | undefined {
  if (requestTemplate) return parseOrThrow(requestTemplate);
  if (!layers.template) return undefined;
  try {
    return GoTemplate.parse(layers.template);
  } catch (e) {
    if (e instanceof UnsupportedTemplateError) return undefined;
    if (e instanceof TemplateSyntaxError) throw new OllamaError(500, e.message);
    throw e;
  }
}

/** template.Values' think fields from the request's `think` (api.ThinkValue Bool/String). */
function thinkValues(think: Think | null | undefined): { think: boolean; thinkLevel: string; isThinkSet: boolean } {
  if (think === undefined || think === null) return { think: false, thinkLevel: "", isThinkSet: false };
  if (typeof think === "boolean") return { think, thinkLevel: think ? "medium" : "", isThinkSet: true };
  return { think: ["high", "medium", "low", "max"].includes(think), thinkLevel: think, isThinkSet: true };
}

/** Arguments as a JSON object (OpenAI clients send them as a JSON string). */
function argumentsOf(args: Record<string, unknown> | string): Record<string, unknown> {
  if (typeof args !== "string") return args;
  try {
    const parsed: unknown = JSON.parse(args);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The runner's chat message as Ollama's api.Message (a tool result's name travels as `name` there). */
function templateMessageOf(m: ChatMessage): TemplateMessageInput {
  const out: TemplateMessageInput = { role: m.role, content: typeof m.content === "string" ? m.content : "" };
  if (m.thinking) out.thinking = m.thinking;
  const toolName = typeof m.tool_name === "string" ? m.tool_name : m.role === "tool" ? m.name : undefined;
  if (toolName) out.tool_name = toolName;
  if (m.tool_call_id) out.tool_call_id = m.tool_call_id;
  if (m.tool_calls) {
    out.tool_calls = m.tool_calls.map((c) => ({ id: c.id, function: { name: c.function.name, arguments: argumentsOf(c.function.arguments) } }));
  }
  return out;
}

/** Renders the prompt; a template that fails on these values is a 500 with Go's message, as in Ollama. */
export function renderGoPrompt(
  template: GoTemplate,
  input: { messages: ChatMessage[]; tools?: TemplateToolInput[]; prompt?: string; suffix?: string | null; think?: Think | null },
): string {
  try {
    const values = input.suffix
      ? { prompt: input.prompt ?? "", suffix: input.suffix }
      : { messages: input.messages.map(templateMessageOf), tools: input.tools };
    return template.execute({ ...values, ...thinkValues(input.think) });
  } catch (e) {
    if (e instanceof TemplateExecError) throw new OllamaError(500, e.message);
    throw e;
  }
}
