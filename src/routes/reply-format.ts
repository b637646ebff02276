// How a model's reply is to be read: the tool-call syntax and thinking tags its chat template teaches, and
// whether the prompt leaves the model inside a thinking block. The template is the one the runner renders:
// the HF chat template of an MLX model, or the one in a GGUF file's metadata.
import { readGguf } from "../formats/gguf/file.ts";
import { detectToolFormat } from "../formats/tools/detect.ts";
import type { ToolFormat } from "../formats/tools/formats.ts";
import { THINK_TAGS, detectThinkingTags, promptOpensThinking, type ThinkingTags } from "../formats/tools/thinking.ts";
import { renderChatTemplate, type ChatMessage } from "../formats/tokenizer/chat-template.ts";
import { MEDIA, type Store, type StoredModel } from "../store/store.ts";
import type { AppContext } from "./context.ts";
import type { Prepared } from "./inference.ts";

// Reading a GGUF header walks its whole vocabulary: once per blob is enough.
const ggufTemplates = new Map<string, string>();

function ggufChatTemplate(store: Store, model: StoredModel): string | undefined {
  const layer = model.manifest.layers.find((l) => l.mediaType === MEDIA.model);
  if (!layer) return undefined;
  let template = ggufTemplates.get(layer.digest);
  if (template === undefined) {
    try {
      const value = readGguf(store.blobPath(layer.digest)).metadata["tokenizer.chat_template"];
      template = typeof value === "string" ? value : "";
    } catch {
      template = "";
    }
    ggufTemplates.set(layer.digest, template);
  }
  return template || undefined;
}

/** The chat template text the runner renders for this model ("" when it has none). */
export function chatTemplateSource(app: AppContext, prepared: Prepared): string {
  return prepared.layers.chatTemplate ?? ggufChatTemplate(app.store, prepared.model) ?? prepared.layers.template ?? "";
}

/** Whether this request has thinking on: the model can think and the request did not turn it off. */
export function thinkingEnabled(prepared: Prepared): boolean {
  return prepared.capabilities.includes("thinking") && prepared.templateKwargs?.enable_thinking === true;
}

export function thinkingTagsOf(source: string): ThinkingTags {
  return detectThinkingTags(source) ?? THINK_TAGS;
}

/** The tool-call syntax of a tools-capable model; a template with no known marker gets the bare-JSON reading. */
export function toolFormatOf(source: string): ToolFormat {
  return detectToolFormat(source) ?? "json";
}

/**
 * Whether the prompt the runner will build ends inside an open thinking block (Qwen3-Thinking-2507, DeepSeek-R1
 * templates write the open tag themselves): the route renders the same template to find out. A template the JS
 * renderer cannot run here reads as "no": the runner will report that failure itself.
 */
export function promptStartsInThinking(
  source: string,
  messages: readonly ChatMessage[],
  tools: readonly unknown[] | undefined,
  kwargs: Record<string, unknown> | undefined,
  tags: ThinkingTags,
): boolean {
  if (source === "" || !source.includes(tags.open)) return false;
  const render = (list: readonly ChatMessage[]) =>
    renderChatTemplate(source, list, {
      tools: tools && tools.length > 0 ? (tools as Record<string, unknown>[]) : null,
      addGenerationPrompt: true,
      ...(kwargs ? { kwargs } : {}),
    });
  // How the prompt ends depends on the generation prompt and the kwargs, not on the history: the last message
  // alone is enough, and keeps a long conversation from costing a second full render. A template that rejects
  // that (role-alternation checks) gets the whole conversation.
  for (const list of [messages.slice(-1), messages]) {
    try {
      return promptOpensThinking(render(list), tags);
    } catch {
      // try the next, longer list
    }
  }
  return false;
}
