// How a model's reply is to be read: the tool-call syntax and thinking tags its chat template teaches. The template
// is the HF chat template of an MLX model, or the one in a GGUF file's metadata (or a TEMPLATE layer, lacking both).
import { readGguf } from "../formats/gguf/file.ts";
import { detectToolFormat } from "../formats/tools/detect.ts";
import type { ToolFormat } from "../formats/tools/formats.ts";
import { THINK_TAGS, detectThinkingTags, type ThinkingTags } from "../formats/tools/thinking.ts";
import { MEDIA, type Store, type StoredModel } from "../store/store.ts";
import type { ModelLayers } from "./model-layers.ts";

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

/** The chat template text that renders this model's prompts ("" when it has none). */
export function chatTemplateSource(store: Store, model: StoredModel, layers: ModelLayers): string {
  return layers.chatTemplate ?? ggufChatTemplate(store, model) ?? layers.template ?? "";
}

export function thinkingTagsOf(source: string): ThinkingTags {
  return detectThinkingTags(source) ?? THINK_TAGS;
}

/** The tool-call syntax of a tools-capable model; a template with no known marker gets the bare-JSON reading. */
export function toolFormatOf(source: string): ToolFormat {
  return detectToolFormat(source) ?? "json";
}
