// Model options resolved as Ollama does: DefaultOptions() < Modelfile PARAMETERs < request options, each layer
// applied with Options.FromMap's coercions (api/types.go): numbers truncate into int options, null is skipped,
// unknown keys are warned about and ignored, a wrong JSON type is an error with Ollama's message.
import type { Env } from "../config/env.ts";
import { OLLAMA_CONTEXT_LENGTH } from "../config/settings.ts";
import { OPTION_KINDS, optionTypeMessage, type OptionKind, type OptionName } from "../schemas/options.ts";
import { InvalidRequestError } from "./errors.ts";

export interface ModelOptions {
  num_ctx: number;
  num_batch: number;
  num_gpu: number;
  main_gpu?: number;
  use_mmap?: boolean;
  num_thread: number;
  draft_num_predict: number;
  num_keep: number;
  seed: number;
  num_predict: number;
  top_k: number;
  top_p: number;
  min_p: number;
  typical_p: number;
  repeat_last_n: number;
  temperature: number;
  repeat_penalty: number;
  presence_penalty: number;
  frequency_penalty: number;
  stop: string[];
}

/** DefaultOptions() from api/types.go. */
export function defaultOptions(env?: Env): ModelOptions {
  return {
    num_predict: -1,
    num_keep: 4,
    temperature: 0.8,
    top_k: 40,
    top_p: 0.9,
    min_p: 0.0,
    typical_p: 1.0,
    repeat_last_n: 64,
    repeat_penalty: 1.0,
    presence_penalty: 0.0,
    frequency_penalty: 0.0,
    seed: -1,
    stop: [],
    num_ctx: OLLAMA_CONTEXT_LENGTH.read(env),
    num_batch: 512,
    num_gpu: -1,
    num_thread: 0,
    draft_num_predict: 4,
  };
}

export type OptionWarning = (message: string, option: string) => void;

const warnUnknown: OptionWarning = (message, option) => console.warn(`${message} option=${option}`);

/**
 * Options.FromMap: applies one layer of options onto `target` (mutated and returned).
 * Throws InvalidRequestError(`option "x" must be of type integer`) and friends on a wrong type.
 */
export function applyOptions(
  target: ModelOptions,
  layer: Record<string, unknown> | null | undefined,
  warn: OptionWarning = warnUnknown,
): ModelOptions {
  if (!layer) return target;
  const writable = target as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(layer)) {
    if (!Object.hasOwn(OPTION_KINDS, key)) {
      warn("invalid option provided", key);
      continue;
    }
    if (value === null || value === undefined) continue;
    const kind = OPTION_KINDS[key as OptionName] as OptionKind;
    const fail = () => new InvalidRequestError(optionTypeMessage(key, kind, value));
    switch (kind) {
      case "int":
      case "*int":
        if (typeof value !== "number") throw fail();
        writable[key] = Math.trunc(value); // Go: field.SetInt(int64(float64))
        break;
      case "float32":
        if (typeof value !== "number") throw fail();
        writable[key] = value;
        break;
      case "bool":
      case "*bool":
        if (typeof value !== "boolean") throw fail();
        writable[key] = value;
        break;
      case "[]string":
        if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) throw fail();
        writable[key] = [...value];
        break;
    }
  }
  return target;
}

export interface OptionLayers {
  /** The model's Modelfile PARAMETERs (the params layer). */
  model?: Record<string, unknown> | null;
  /** The request's `options`. */
  request?: Record<string, unknown> | null;
  env?: Record<string, string | undefined>;
  warn?: OptionWarning;
}

/** Request options over model parameters over Ollama's defaults. */
export function resolveOptions(layers: OptionLayers = {}): ModelOptions {
  const options = defaultOptions(layers.env);
  applyOptions(options, layers.model, layers.warn);
  applyOptions(options, layers.request, layers.warn);
  return options;
}
