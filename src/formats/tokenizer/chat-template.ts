// Chat templates rendered as transformers' apply_chat_template(..., tokenize=False) renders them
// (utils/chat_template_utils.py, render_jinja_template), on @huggingface/jinja. A template the JS
// engine cannot run fails with ChatTemplateError; it never yields a partial or guessed prompt.
import { Template } from "@huggingface/jinja";
import type { Tokenizer } from "./tokenizer.ts";

export interface ToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments: Record<string, unknown> | string };
  [key: string]: unknown;
}

export interface ChatMessage {
  role: string;
  content?: string | Record<string, unknown>[] | null;
  tool_calls?: ToolCall[] | null;
  tool_call_id?: string | null;
  name?: string | null;
  reasoning_content?: string | null;
  thinking?: string | null;
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** JSON schemas of the tools ({type: "function", function: {...}}). */
  tools?: Record<string, unknown>[] | null;
  documents?: Record<string, unknown>[] | null;
  addGenerationPrompt?: boolean;
  /** Extra template variables (enable_thinking, reasoning_effort, ...); they override special tokens. */
  kwargs?: Record<string, unknown>;
}

export class ChatTemplateError extends Error {
  override name = "ChatTemplateError";
}

/** Reasoning is read under several names; transformers copies it to all of them (_alias_reasoning_fields). */
const REASONING_FIELDS = ["reasoning_content", "thinking", "reasoning"] as const;

/** transformers' _normalize_chat_messages + _alias_reasoning_fields. */
function normalizeMessages(messages: readonly ChatMessage[]): Record<string, unknown>[] {
  return messages.map((message) => {
    // APIs send content: null or tool_calls: null; templates handle a missing key better.
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(message)) if (value !== null && value !== undefined) out[key] = value;
    const reasoning = REASONING_FIELDS.map((k) => out[k]).find((v) => v !== undefined);
    return reasoning === undefined ? out : { thinking: reasoning, ...out, reasoning_content: reasoning };
  });
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let template = compiled.get(source);
  if (!template) {
    try {
      template = new Template(source);
    } catch (e) {
      throw new ChatTemplateError(`chat template cannot be parsed: ${(e as Error).message}`, { cause: e });
    }
    compiled.set(source, template);
  }
  return template;
}

/**
 * Render like transformers: the variables are messages, tools, documents, add_generation_prompt,
 * the named special tokens (bos_token, eos_token, ...) and the extra kwargs; raise_exception and
 * strftime_now are available to the template.
 */
export function renderChatTemplate(
  source: string,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions & { specialTokens?: Readonly<Record<string, string>> } = {},
): string {
  const template = compile(source);
  const context: Record<string, unknown> = {
    ...options.specialTokens,
    ...options.kwargs,
    messages: normalizeMessages(messages),
    tools: options.tools ?? null,
    documents: options.documents ?? null,
    add_generation_prompt: options.addGenerationPrompt ?? false,
  };
  try {
    return template.render(context);
  } catch (e) {
    throw new ChatTemplateError(`chat template failed: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * mlx-lm's TokenizerWrapper.apply_chat_template(tokenize=False): the tokenizer's template and
 * special tokens, with enable_thinking defaulting to whether the vocabulary has think markers.
 */
export function applyChatTemplate(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions & { chatTemplate?: string } = {},
): string {
  const source = options.chatTemplate ?? tokenizer.chatTemplate;
  if (source === null) throw new ChatTemplateError("this model has no chat template");
  const kwargs = { enable_thinking: tokenizer.hasThinking, ...options.kwargs };
  return renderChatTemplate(source, messages, { ...options, kwargs, specialTokens: tokenizer.specialTokens });
}
