// What a stored model carries besides weights: Modelfile layers (system, template, params, messages, license),
// the HF config.json and chat template of an MLX model, and the capabilities they imply.
import { readFileSync } from "node:fs";
import { detectThinkingTags } from "../formats/tools/thinking.ts";
import { GoTemplate } from "../formats/tokenizer/go-template/index.ts";
import { isEmbeddingArchitecture } from "../models/kinds.ts";
import type { Message } from "../schemas/index.ts";
import { MEDIA, type Layer, type Store, type StoredModel } from "../store/store.ts";

export interface ModelLayers {
  system?: string;
  /** a TEMPLATE layer (a Go template in Ollama's models) */
  template?: string;
  params?: Record<string, unknown>;
  messages?: Message[];
  license: string[];
  /** the HF chat template of an MLX model (tokenizer_config.json or chat_template.jinja) */
  chatTemplate?: string;
  /** config.json of an MLX model */
  hfConfig?: Record<string, unknown>;
  /** a sentence-transformers directory (it has modules.json): an embedding model, decoder or not */
  sentenceTransformers?: boolean;
}

function readText(store: Store, layer: Layer): string {
  return readFileSync(store.blobPath(layer.digest), "utf8");
}

function readJson(store: Store, layer: Layer): unknown {
  try {
    return JSON.parse(readText(store, layer));
  } catch {
    return undefined;
  }
}

function chatTemplateOf(config: unknown): string | undefined {
  if (!config || typeof config !== "object") return undefined;
  const t = (config as { chat_template?: unknown }).chat_template;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) {
    const named = t as { name?: string; template?: string }[];
    return (named.find((x) => x.name === "default") ?? named[0])?.template;
  }
  return undefined;
}

export function readModelLayers(store: Store, model: StoredModel): ModelLayers {
  const out: ModelLayers = { license: [] };
  let jinja: string | undefined;
  let fromConfig: string | undefined;
  for (const layer of model.manifest.layers) {
    switch (layer.mediaType) {
      case MEDIA.system:
        out.system = readText(store, layer);
        break;
      case MEDIA.template:
        out.template = readText(store, layer);
        break;
      case MEDIA.params:
        out.params = readJson(store, layer) as Record<string, unknown> | undefined;
        break;
      case MEDIA.messages:
        out.messages = readJson(store, layer) as Message[] | undefined;
        break;
      case MEDIA.license:
        out.license.push(readText(store, layer));
        break;
      default:
        if (layer.name === "config.json") out.hfConfig = readJson(store, layer) as Record<string, unknown> | undefined;
        else if (layer.name === "modules.json") out.sentenceTransformers = true;
        else if (layer.name === "tokenizer_config.json") fromConfig = chatTemplateOf(readJson(store, layer));
        else if (layer.name === "chat_template.jinja") jinja = readText(store, layer);
        else if (layer.name === "chat_template.json") fromConfig ??= chatTemplateOf(readJson(store, layer));
    }
  }
  // transformers prefers chat_template.jinja over tokenizer_config.json's
  out.chatTemplate = jinja ?? fromConfig;
  return out;
}

/**
 * Ollama's capabilities: an encoder or a sentence-transformers model embeds (and only that); any other model completes, plus tools/thinking when the
 * chat template mentions them (images.go).
 */
export function capabilitiesOf(model: StoredModel, layers: ModelLayers): string[] {
  const recorded = model.config.capabilities;
  if (recorded?.length) {
    // What import recorded is the base (a GGUF says completion or embedding); a TEMPLATE layer adds what it can
    // render, as Ollama's Capabilities reads Template.Vars: a model created with a tools template gains tools.
    if (!recorded.includes("completion")) return [...recorded];
    return [...recorded, ...goTemplateCapabilities(layers.template).filter((c) => !recorded.includes(c))];
  }
  const arch = typeof layers.hfConfig?.model_type === "string" ? layers.hfConfig.model_type : model.config.architecture;
  if (isEmbeddingArchitecture(arch) || layers.sentenceTransformers) return ["embedding"];
  const caps = ["completion"];
  const template = layers.chatTemplate ?? layers.template ?? "";
  if (template.includes("tools") || template.includes("tool_call")) caps.push("tools");
  // a Go TEMPLATE that uses .Suffix renders fill-in-the-middle prompts (images.go: template vars contain "suffix")
  if (layers.template && /\.suffix\b/i.test(layers.template)) caps.push("insert");
  // <think>…</think> as Ollama's Jinja heuristic, and the other families' tags (Magistral [THINK], Gemma 4 channel)
  if (detectThinkingTags(template)) caps.push("thinking");
  return caps;
}

/** tools for a Go TEMPLATE that uses .Tools, insert for one that uses .Suffix (images.go Capabilities). */
function goTemplateCapabilities(source: string | undefined): string[] {
  if (!source) return [];
  let vars: ReadonlySet<string>;
  try {
    vars = GoTemplate.parse(source).vars;
  } catch {
    return []; // a template that does not parse fails the request that renders it, with its own error
  }
  return [...(vars.has("tools") ? ["tools"] : []), ...(vars.has("suffix") ? ["insert"] : [])];
}
