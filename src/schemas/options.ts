// Model options (api.Options + api.Runner in api/types.go): every key Ollama honours, with the Go type that
// decides how a JSON value is coerced (Options.FromMap). Unknown keys are ignored with a warning, as Ollama does.
import { t, type Static } from "elysia";
import { errorFromValue } from "./common.ts";

/** The Go kind of each option: ints accept any JSON number (truncated), floats any number, pointers may be unset. */
export type OptionKind = "int" | "float32" | "bool" | "[]string" | "*int" | "*bool";

export const OPTION_KINDS = {
  // Runner: set when the model is loaded (a change reloads a llama.cpp runner; never an MLX one)
  num_ctx: "int",
  num_batch: "int",
  num_gpu: "int",
  main_gpu: "*int",
  use_mmap: "*bool",
  num_thread: "int",
  draft_num_predict: "int",
  // Predict: per request
  num_keep: "int",
  seed: "int",
  num_predict: "int",
  top_k: "int",
  top_p: "float32",
  min_p: "float32",
  typical_p: "float32",
  repeat_last_n: "int",
  temperature: "float32",
  repeat_penalty: "float32",
  presence_penalty: "float32",
  frequency_penalty: "float32",
  stop: "[]string",
} as const satisfies Record<string, OptionKind>;

export type OptionName = keyof typeof OPTION_KINDS;

/** Options.FromMap's message for a value of the wrong JSON type. */
export function optionTypeMessage(name: string, kind: OptionKind, value: unknown): string {
  switch (kind) {
    case "int":
    case "*int":
      return `option "${name}" must be of type integer`;
    case "float32":
      return `option "${name}" must be of type float32`;
    case "bool":
    case "*bool":
      return `option "${name}" must be of type boolean`;
    case "[]string":
      return Array.isArray(value) ? `option "${name}" must be of an array of strings` : `option "${name}" must be of type array`;
  }
}

const DESCRIPTIONS: Record<OptionName, string> = {
  num_ctx: "context window in tokens (default OLLAMA_CONTEXT_LENGTH, else 4096)",
  num_batch: "prompt batch size (default 512)",
  num_gpu: "layers to offload; -1 auto, 0 CPU",
  main_gpu: "GPU for small tensors",
  use_mmap: "memory-map weights (default auto)",
  num_thread: "CPU threads; 0 lets the runtime decide",
  draft_num_predict: "speculative draft length (default 4)",
  num_keep: "tokens kept on context shift (default 4)",
  seed: "sampling seed; -1 is random",
  num_predict: "max tokens to generate; -1: up to 10 × num_ctx, the context shifting as it fills",
  top_k: "default 40",
  top_p: "default 0.9",
  min_p: "default 0.0",
  typical_p: "locally typical sampling (default 1.0, off)",
  repeat_last_n: "tokens looked back for penalties; 0 off, -1 num_ctx (default 64)",
  temperature: "default 0.8; 0 is greedy",
  repeat_penalty: "default 1.0",
  presence_penalty: "default 0.0",
  frequency_penalty: "default 0.0",
  stop: "stop strings, not included in the output",
};

function meta(name: OptionName) {
  const kind = OPTION_KINDS[name];
  return {
    description: DESCRIPTIONS[name],
    error: errorFromValue((value) => optionTypeMessage(name, kind, value)),
  };
}

// null is skipped by FromMap ("if val == nil { continue }"); ints take any number: FromMap truncates a float64.
const numberOption = (name: OptionName) => t.Optional(t.Union([t.Number(), t.Null()], meta(name)));
const boolOption = (name: OptionName) => t.Optional(t.Union([t.Boolean(), t.Null()], meta(name)));
const stringsOption = (name: OptionName) => t.Optional(t.Union([t.Array(t.String()), t.Null()], meta(name)));

/** The request `options` object; keys Ollama does not know (e.g. mirostat, numa) pass and are ignored. */
export const Options = t.Object(
  {
    num_ctx: numberOption("num_ctx"),
    num_batch: numberOption("num_batch"),
    num_gpu: numberOption("num_gpu"),
    main_gpu: numberOption("main_gpu"),
    use_mmap: boolOption("use_mmap"),
    num_thread: numberOption("num_thread"),
    draft_num_predict: numberOption("draft_num_predict"),
    num_keep: numberOption("num_keep"),
    seed: numberOption("seed"),
    num_predict: numberOption("num_predict"),
    top_k: numberOption("top_k"),
    top_p: numberOption("top_p"),
    min_p: numberOption("min_p"),
    typical_p: numberOption("typical_p"),
    repeat_last_n: numberOption("repeat_last_n"),
    temperature: numberOption("temperature"),
    repeat_penalty: numberOption("repeat_penalty"),
    presence_penalty: numberOption("presence_penalty"),
    frequency_penalty: numberOption("frequency_penalty"),
    stop: stringsOption("stop"),
  },
  { additionalProperties: true, title: "Options", description: "Model options; unknown keys are ignored" },
);

export type Options = Static<typeof Options>;
