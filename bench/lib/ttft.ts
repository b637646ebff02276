// One streamed completion as bench/api.ts sees it, on either side (through HTTP, or the engine in-process).

export interface TtftSample {
  /** from the request (or the tokenizer call) to the first token with text */
  ttftMs: number;
  /** the token loop's own time to its first token (the runner reports it as prompt_eval_duration) */
  loopTtftMs: number;
  /** over the tokens after the first, from the first to the last one seen */
  genTps: number;
  tokens: number;
}

/** Tokens/s over the tokens after the first (the first one's latency is TTFT); `times` are those with text. */
export function rateAfterFirst(times: number[], tokens: number): number {
  return times.length > 1 ? (tokens - 1) / ((times.at(-1)! - times[0]!) / 1000) : 0;
}
