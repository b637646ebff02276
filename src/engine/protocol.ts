import type { LrSchedule } from "../train/schedule.ts";
// The typed protocol between the server and a runner process, carried over Bun's IPC channel (JSON messages).
// Requests carry an id chosen by the server; every event names the request it belongs to.
// A request ends with exactly one terminal event: "done", "error", or the answer of a one-shot request
// ("loaded" for load, "stats" for stats, "embeddings" for embed).

export type RunnerRequest =
  | { op: "selftest"; id: number; steps: number; size: number; fail?: "mlx"; /** pause between steps */ stepDelayMs?: number }
  | { op: "load"; id: number; model: ModelSpec }
  | { op: "generate"; id: number; params: GenerateParams }
  | { op: "embed"; id: number; params: EmbedParams }
  | { op: "train"; id: number; params: TrainParams }
  | { op: "fuse"; id: number; params: FuseParams }
  | { op: "cancel"; id: number; target: number }
  | { op: "stats"; id: number }
  | { op: "unload"; id: number };

/** What to load: a model directory in the mlx-community layout, or a GGUF file. */
export interface ModelSpec {
  name: string;
  format: "mlx" | "gguf";
  path: string;
  /** a GGUF model's LoRA adapter folder (an MLX directory carries its own, in adapter/) */
  adapter?: string;
}

/**
 * One generation. The server renders the prompt (routes/prepare.ts: the model's Jinja chat template or a Go
 * TEMPLATE, as Ollama's chatPrompt does), so the runner receives the final model input as text and tokenizes it.
 */
export interface GenerateParams {
  prompt: string;
  /**
   * The prompt is a rendered chat template: it carries its own special tokens (BOS included) and is tokenized as
   * is. Otherwise (a raw prompt, a Go template's output) the tokenizer adds BOS where it has one and the text lacks it.
   */
  rendered?: boolean;
  /** report the prompt's token ids followed by the generated ones as summary.context */
  returnContext?: boolean;
  /** thinking is on (the template was rendered with enable_thinking): a constraint lets a thought come first */
  thinking?: boolean;
  /** constrained decoding: only tokens that keep the output a valid prefix of this language are sampled */
  constraint?: OutputConstraint;
  /** the most tokens a thought may take before it is closed (Anthropic's thinking.budget_tokens) */
  thinkBudget?: number;
  /** false: a prompt longer than num_ctx is an error instead of being cut (Ollama's `truncate`, default true) */
  truncate?: boolean;
  /** false: generation that fills the context ends ("length") instead of shifting it (Ollama's `shift`, default true) */
  shift?: boolean;
  options: SamplingParams;
}

/** LoRA fine-tuning (train/finetune.ts), mlx-lm's option names; the defaults are the route's. */
export interface TrainOptions {
  iters: number;
  batch_size: number;
  learning_rate: number;
  rank: number;
  scale: number;
  num_layers: number;
  max_seq_length: number;
  mask_prompt: boolean;
  seed: number;
  /** LoRA dropout on each adapter's input while training, in [0, 1) (mlx-lm's lora_parameters.dropout; 0: none) */
  dropout: number;
  /** the modules of each block to adapt, named within it (mlx-lm's lora_parameters.keys); absent: every Linear */
  keys?: string[];
  /** mlx-lm's grad_checkpoint: each block's activations recomputed in the backward pass (less memory, slower) */
  grad_checkpoint?: boolean;
  /** AdamW's decoupled weight decay; 0 is mlx-lm's default Adam */
  weight_decay: number;
  /** iterations of linear warmup from 0 before the rate holds (0: none; without lr_schedule only) */
  warmup: number;
  /** mlx-lm's: iterations whose gradients are summed (then averaged) into one optimizer update */
  grad_accumulation_steps: number;
  /** mlx-lm's lr_schedule (train/schedule.ts); its arguments[0] replaces learning_rate */
  lr_schedule?: LrSchedule;
  /** a checkpoint every N iterations (0: only when the run is cancelled) */
  save_every: number;
}

/** One training run: the base, its rows (parsed JSONL objects) and where the adapter's files go. */
export interface TrainParams {
  model: ModelSpec;
  train: unknown[];
  valid: unknown[];
  options: TrainOptions;
  outDir: string;
  /** where the run's checkpoints go (train/checkpoint.ts) */
  checkpointDir: string;
  /** continue from the newest checkpoint in checkpointDir */
  resume: boolean;
  /** also write the base's weights with the adapter merged in (train/fuse.ts), into outDir/fused */
  fuse: boolean;
}

/** An adapter merged into an MLX model's weights (train/fuse.ts): the fused weight files go into outDir. */
export interface FuseParams {
  /** the base's model directory, or its GGUF file (`gguf`) */
  base: string;
  /** a GGUF base is fused into an MLX model directory: every file of it goes into outDir */
  gguf?: boolean;
  /** the adapter's files (adapters.safetensors or adapter_model.safetensors, adapter_config.json; adapter.gguf) by name → path */
  adapterFiles: Record<string, string>;
  outDir: string;
}

/** One request's inputs for an embedding model, one vector each (pooled, not normalized: the server does that). */
export interface EmbedParams {
  /** texts, or token ids (/v1/embeddings' token arrays) used as given */
  inputs: (string | number[])[];
  /** false: an input longer than the context is Ollama's 400 instead of being cut to it */
  truncate: boolean;
  /** num_ctx: with the model's own limit, the most tokens an input keeps */
  numCtx: number;
}

/**
 * The languages constrained decoding enforces. `json`: any JSON object (Ollama's `format: "json"`); `json_schema`:
 * JSON valid against the schema (`format: {schema}`, /v1 response_format); `tool_call`: a forced tool call (/v1
 * tool_choice "required" or a named function): the literal `prefix`, then JSON valid against `schema` (the
 * {name, arguments} object of one of the offered tools), then the literal `suffix`, then end of generation.
 */
export type OutputConstraint =
  | { kind: "json" }
  | { kind: "json_schema"; schema: Record<string, unknown> }
  | { kind: "tool_call"; prefix: string; schema: Record<string, unknown>; suffix: string };

/** Ollama's option names, already merged with defaults by the server. */
export interface SamplingParams {
  temperature: number;
  top_k: number;
  top_p: number;
  min_p: number;
  repeat_penalty: number;
  repeat_last_n: number;
  presence_penalty: number;
  frequency_penalty: number;
  /** -1: random */
  seed: number;
  /** -1: unlimited (as Ollama: at most 10 × num_ctx, the context shifting as it fills) */
  num_predict: number;
  num_ctx: number;
  num_keep: number;
  stop: string[];
  logprobs?: boolean;
  top_logprobs?: number;
}

export interface GenerationSummary {
  promptTokens: number;
  /** of promptTokens, those whose KV state came from the runner's prefix cache (not prefilled again) */
  cachedTokens?: number;
  promptNs: number;
  generatedTokens: number;
  generateNs: number;
  peakMemory: number;
  /** the prompt's token ids then the generated ones, when GenerateParams.returnContext asked (/api/generate `context`) */
  context?: number[];
  /** the stop string (options.stop) that ended the generation, when one did */
  stopSequence?: string;
}

export interface RunnerStats {
  pid: number;
  mlxVersion: string;
  activeMemory: number;
  peakMemory: number;
  cacheMemory: number;
  liveHandles: number;
  model: string | null;
  /** MLX's default device in the runner */
  device: "cpu" | "gpu";
  /** the prefix cache of the loaded model: entries, the bytes their KV buffers hold (part of activeMemory), its cap */
  prefixCache: { entries: number; bytes: number; capBytes: number; handles: number } | null;
  /** the loaded model's decode batching since its load (decode-batch.ts) */
  batch: DecodeBatchStats | null;
}

export interface DecodeBatchStats {
  /** decode steps run, the rows they carried, the most rows one carried, those whose rows shared batch caches */
  steps: number;
  rows: number;
  peakRows: number;
  sharedSteps: number;
  /** prompt prefill passes run and the prompt chunks they carried (several chunks to a pass: prompts batched) */
  prefillPasses: number;
  prefillChunks: number;
}

export type RunnerEvent =
  | { type: "ready"; pid: number; mlxVersion: string }
  | { type: "step"; id: number; index: number; value: number }
  | { type: "token"; id: number; text: string; token: number; logprob?: number; top?: { token: number; logprob: number; text: string }[] }
  | { type: "loaded"; id: number; loadDurationNs: number; contextLength: number }
  | { type: "stats"; id: number; stats: RunnerStats }
  | { type: "embeddings"; id: number; embeddings: number[][]; promptTokens: number; promptNs: number }
  | {
      type: "train";
      id: number;
      /** iterations done, of `total` */
      iteration: number;
      total: number;
      loss: number;
      learningRate: number;
      tokensPerSecond: number;
      trainedTokens: number;
      /** MLX's peak memory so far, bytes */
      peakMemory: number;
      /** the training process's resident memory after this iteration, bytes */
      rss: number;
    }
  | { type: "validate"; id: number; iteration: number; loss: number }
  | { type: "done"; id: number; reason: DoneReason; data?: Record<string, unknown>; summary?: GenerationSummary }
  | { type: "error"; id: number; message: string; kind: "mlx" | "request" | "internal"; /** the HTTP status it means, when not 500 */ status?: number };

export type DoneReason = "stop" | "length" | "cancelled" | "ok";

export function isTerminal(e: RunnerEvent): boolean {
  return e.type === "done" || e.type === "error" || e.type === "stats" || e.type === "loaded" || e.type === "embeddings";
}
