// bench/run.ts's modes: every other benchmark, run as `bun bench/run.ts MODE [its options]` (bench/MODE.ts), so
// that one entry point lists and starts them all. `bun bench/run.ts list` prints this table.
export const MODES: Record<string, string> = {
  api: "what the HTTP API costs: TTFT and tokens/s through /api/generate against the engine in-process",
  concurrency: "continuous batching: aggregate tok/s at 1/4/8 clients, a short request beside 3 streams, mlx_lm.server",
  constrain: "constrained decoding's cost: tokens/s with and without a JSON schema",
  "decode-profile": "decode alone with N rows stepping together, for a profiler (perf record)",
  embed: "embeddings: /api/embed against mlx-embeddings and llama.cpp",
  engine: "the engine against mlx-lm on the same MLX directory",
  finetune: "LoRA fine-tuning against mlx-lm's trainer",
  gguf: "the same GGUF against llama.cpp: load, prompt and generation tok/s",
  kernels: "the CPU quantized-linear kernels alone, at SmolLM2's decode shapes",
  rss: "peak resident memory against llama.cpp's on the same GGUF",
  serving: "the prefix cache as a chat user feels it: TTFT of each turn",
  soak: "a mixed soak of a real `ollmlx serve`: RSS first against last, errors",
  startup: "time to the first answer of GET /api/version",
};
