// POST /api/finetune (and /finetune): LoRA fine-tuning of a stored model into a new one, by name. An ollmlx route:
// Ollama has no training API. Parameters keep mlx-lm's names and defaults, with CPU-sized iters and batch.
import { t, type Static } from "elysia";
import { Int } from "./go-json.ts";

const Rows = t.Array(t.Record(t.String(), t.Unknown()), {
  description: 'mlx-lm\'s JSONL rows, parsed: {"messages": [...]}, {"prompt", "completion"} or {"text"}',
});

export const FinetuneParameters = t.Object({
  iters: t.Optional(Int({ minimum: 1, maximum: 100000, description: "optimizer steps (default 100)" })),
  batch_size: t.Optional(Int({ minimum: 1, maximum: 256, description: "rows per step (default 4)" })),
  learning_rate: t.Optional(t.Number({ exclusiveMinimum: 0, maximum: 1, description: "Adam's rate (default 1e-4)" })),
  rank: t.Optional(Int({ minimum: 1, maximum: 512, description: "LoRA rank (default 8)" })),
  scale: t.Optional(t.Number({ exclusiveMinimum: 0, maximum: 1000, description: "LoRA scale, mlx-lm's (default 20)" })),
  num_layers: t.Optional(Int({ minimum: -1, maximum: 1000, description: "adapt the last N blocks; -1 all (default 16)" })),
  max_seq_length: t.Optional(Int({ minimum: 2, maximum: 1 << 20, description: "rows are cut to this many tokens (default 2048)" })),
  mask_prompt: t.Optional(t.Boolean({ description: "train on the last message only (default false)" })),
  seed: t.Optional(Int({ minimum: 0, description: "adapter init and batch order (default 0)" })),
  keys: t.Optional(
    t.Array(t.String({ minLength: 1 }), {
      minItems: 1,
      description: 'the modules of each block to adapt, named within it, as mlx-lm\'s lora_parameters.keys (e.g. ["self_attn.q_proj", "self_attn.v_proj"]; default: every Linear)',
    }),
  ),
  dropout: t.Optional(
    t.Number({ minimum: 0, exclusiveMaximum: 1, description: "LoRA dropout on each adapter's input while training, mlx-lm's; masks seeded from seed (default 0)" }),
  ),
  grad_checkpoint: t.Optional(
    t.Boolean({ description: "mlx-lm's: each transformer block's activations recomputed in the backward pass instead of kept: less memory, one more forward of each block per step (default false)" }),
  ),
  weight_decay: t.Optional(t.Number({ minimum: 0, maximum: 1, description: "AdamW's decay; 0 is Adam (default 0)" })),
  warmup: t.Optional(Int({ minimum: 0, maximum: 1000000, description: "steps of linear warmup to learning_rate, then constant (default 0); with lr_schedule give its own warmup instead" })),
  grad_accumulation_steps: t.Optional(
    Int({ minimum: 1, maximum: 1024, description: "mlx-lm's: iterations whose gradients are averaged into one optimizer update (default 1); a partial one at the end is dropped" }),
  ),
  lr_schedule: t.Optional(
    t.Object(
      {
        name: t.Union([t.Literal("cosine_decay"), t.Literal("linear_schedule"), t.Literal("exponential_decay"), t.Literal("step_decay")], {
          description: "an mlx.optimizers schedule",
        }),
        arguments: t.Array(t.Number(), {
          minItems: 2,
          maxItems: 3,
          description: "its arguments, the initial rate first: cosine_decay [init, decay_steps, end = 0], linear_schedule [init, end, steps], exponential_decay [init, decay_rate], step_decay [init, decay_rate, step_size]",
        }),
        warmup: t.Optional(Int({ minimum: 0, maximum: 1000000, description: "optimizer steps of linear warmup before it (default 0)" })),
        warmup_init: t.Optional(t.Number({ minimum: 0, maximum: 1, description: "the rate the warmup starts from (default 0)" })),
      },
      {
        description:
          "mlx-lm's lr_schedule (build_schedule): the rate per optimizer update, replacing learning_rate; e.g. " +
          '{"name": "cosine_decay", "arguments": [1e-4, 100, 1e-6], "warmup": 10}',
      },
    ),
  ),
  save_every: t.Optional(Int({ minimum: 0, maximum: 1000000, description: "a checkpoint every N iterations for `resume` (default 100; 0: only when the run is cancelled)" })),
});

export const FinetuneRequest = t.Object(
  {
    model: t.String({ description: "the new model's name" }),
    from: t.Optional(t.String({ description: "the stored base model (safetensors, float or quantized, or GGUF); needed unless resuming" })),
    data: t.Optional(Rows),
    valid: t.Optional(Rows),
    files: t.Optional(
      t.Record(t.String(), t.String({ description: '"sha256:<hex>" of a blob uploaded with POST /api/blobs' }), {
        description: "train.jsonl (and valid.jsonl) uploaded as blobs, instead of `data`",
      }),
    ),
    parameters: t.Optional(FinetuneParameters),
    resume: t.Optional(
      t.Boolean({
        description:
          "continue the cancelled or interrupted run of this `model` from its last checkpoint, with its base, rows and parameters (any given must be the same); the result is what an uninterrupted run gives",
      }),
    ),
    fuse: t.Optional(
      t.Boolean({ description: "store the base's weights with the adapter merged in (quantized ones dequantized, added to and requantized, as mlx_lm.fuse) instead of an adapter layer; a GGUF base is stored as the MLX model its loader builds" }),
    ),
    stream: t.Optional(t.Boolean()),
  },
  { title: "FinetuneRequest" },
);

export const FinetuneProgress = t.Object(
  {
    status: t.String({ description: '"loading model", "resuming", "training", "validating", "creating adapter layer", "fusing", "writing manifest", "success"' }),
    digest: t.Optional(t.String()),
    completed: t.Optional(Int({ description: "iterations done" })),
    total: t.Optional(Int({ description: "iterations in all" })),
    loss: t.Optional(t.Number()),
    learning_rate: t.Optional(t.Number()),
    tokens_per_second: t.Optional(t.Number()),
    trained_tokens: t.Optional(Int()),
    peak_memory: t.Optional(t.Number({ description: "MLX's peak memory so far, GB (as mlx-lm reports it)" })),
    rss: t.Optional(t.Number({ description: "the training process's resident memory after this iteration, GB (flat across a run: nothing accumulates)" })),
    val_loss: t.Optional(t.Number()),
  },
  { title: "FinetuneProgress" },
);

export type FinetuneRequest = Static<typeof FinetuneRequest>;
export type FinetuneProgress = Static<typeof FinetuneProgress>;
