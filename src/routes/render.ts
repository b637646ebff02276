// The prompt the runner receives, rendered in one place for both template kinds, as Ollama's chatPrompt
// (server/prompt.go) renders in the server: a Go template (go-prompt.ts: the request's `template` or the model's
// TEMPLATE layer), or else the model's Jinja chat template with its tokenizer's special tokens (mlx-lm's
// apply_chat_template). The runner then only tokenizes the text (protocol.ts GenerateParams.rendered).
import { InvalidRequestError } from "../api/errors.ts";
import { applyChatTemplate, type ChatMessage } from "../formats/tokenizer/chat-template.ts";
import type { GoTemplate } from "../formats/tokenizer/go-template/index.ts";
import type { Tokenizer } from "../formats/tokenizer/tokenizer.ts";
import type { Think, Tool } from "../schemas/index.ts";
import { renderGoPrompt } from "./go-prompt.ts";

export interface RenderedPrompt {
  text: string;
  /** a Jinja render: the text carries its own special tokens (BOS included) and is tokenized as is */
  rendered: boolean;
}

export interface PromptInput {
  messages: ChatMessage[];
  /** the tools the template is told about (chat's offered tools; undefined on /api/generate) */
  tools?: Tool[];
  /** the Go template that renders this request; undefined: the model's Jinja chat template does */
  goTemplate?: GoTemplate;
  /** /api/generate's .Prompt and .Suffix (a fill-in-the-middle template renders those instead of messages) */
  prompt?: string;
  suffix?: string | null;
  think?: Think | null;
  /** extra Jinja variables (enable_thinking, reasoning_effort), decided by prepare() */
  templateKwargs?: Record<string, unknown>;
  /** token ids of an earlier exchange (/api/generate `context`): decoded, and the text put before the prompt */
  context?: number[];
}

/** What a full context does to a conversation: its num_ctx, and Ollama's `truncate` (false: nothing is dropped). */
export interface Fit {
  numCtx: number;
  truncate: boolean;
}

const utf8 = new TextEncoder();

/** `tokenizer` is asked for only when the render needs it (a Jinja template, a `context` to decode). */
export async function renderPrompt(input: PromptInput, fit: Fit, tokenizer: () => Promise<Tokenizer>): Promise<RenderedPrompt> {
  const before = input.context?.length ? contextText(await tokenizer(), input.context) : "";
  if (input.goTemplate) {
    const values = { messages: input.messages, think: input.think, prompt: input.prompt, suffix: input.suffix };
    return { text: before + renderGoPrompt(input.goTemplate, input.tools ? { ...values, tools: input.tools } : values), rendered: false };
  }
  return { text: fitConversation(await tokenizer(), before, input, fit), rendered: true };
}

/** The text of a `context` from an earlier response; ids outside the vocabulary are the client's error. */
function contextText(tokenizer: Tokenizer, ids: readonly number[]): string {
  const bad = ids.find((t) => !Number.isInteger(t) || t < 0 || t >= tokenizer.idLimit);
  if (bad !== undefined) throw new InvalidRequestError(`invalid context: token id ${bad} is not in the vocabulary`);
  return tokenizer.decode(ids);
}

/**
 * The conversation through the Jinja chat template. One longer than num_ctx loses its oldest messages as Ollama's
 * chatPrompt drops them: the latest messages that fit, with every system message before them; the last message
 * always stays (what still does not fit is cut by tokens in the runner). With truncate false nothing is dropped.
 */
function fitConversation(tokenizer: Tokenizer, before: string, input: PromptInput, fit: Fit): string {
  const { messages } = input;
  const options = {
    // the tools as the request wrote them ({type: "function", function: {...}}), JSON objects to the template
    tools: input.tools && input.tools.length > 0 ? input.tools.map((t): Record<string, unknown> => ({ ...t })) : null,
    addGenerationPrompt: true,
    ...(input.templateKwargs ? { kwargs: input.templateKwargs } : {}),
  };
  const render = (list: ChatMessage[]) => before + applyChatTemplate(tokenizer, list, options);
  // A token is at least one byte of text (one more for a SentencePiece prefix space), so a text of at most
  // num_ctx - 1 bytes fits without being tokenized.
  const fits = (text: string) => utf8.encode(text).length + 1 <= fit.numCtx || tokens(tokenizer, text) <= fit.numCtx;
  const whole = render(messages);
  if (!fit.truncate || messages.length < 2 || fits(whole)) return whole;
  const from = (i: number) => [...messages.slice(0, i).filter((m) => m.role === "system"), ...messages.slice(i)];
  let best = render(from(messages.length - 1));
  for (let i = messages.length - 2; i > 0; i--) {
    const candidate = render(from(i));
    if (!fits(candidate)) break;
    best = candidate;
  }
  return best;
}

function tokens(tokenizer: Tokenizer, text: string): number {
  return tokenizer.encode(text, { addSpecialTokens: false }).length;
}
