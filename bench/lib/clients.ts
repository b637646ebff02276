// Streaming clients for the two servers, timed the same way on the client side: TTFT from sending the request to
// the first chunk with text; prompt tokens/s = prompt tokens / TTFT (mlx-lm's formula, plus the HTTP hop);
// generation tokens/s over the tokens after the first, from the first chunk to the last.
import type { Sample } from "./types.ts";

export interface Server {
  url: string;
  /** one streamed completion of `prompt`, greedy, at most `maxTokens` tokens */
  generate(prompt: string, maxTokens: number): Promise<Sample>;
}

function sample(t0: number, first: number, last: number, promptTokens: number, genTokens: number): Sample {
  const ttftMs = first - t0;
  return { promptTokens, genTokens, ttftMs, promptTps: promptTokens / (ttftMs / 1000), genTps: genTokens > 1 && last > first ? (genTokens - 1) / ((last - first) / 1000) : Number.NaN };
}

/** Lines of a streamed body as they arrive (NDJSON, or SSE's `data:` lines). */
export async function* lines(res: Response): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const bytes of res.body!) {
    buffered += decoder.decode(bytes, { stream: true });
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    for (const p of parts) if (p.trim()) yield p;
  }
  if (buffered.trim()) yield buffered;
}

/** ollmlx (or Ollama): POST /api/generate, raw prompt, streamed NDJSON. */
export function ollamaClient(url: string, model: string, numCtx: number): Server {
  return {
    url,
    async generate(prompt, maxTokens) {
      const options = { temperature: 0, top_k: 0, top_p: 1, repeat_penalty: 1, seed: 0, num_predict: maxTokens, num_ctx: numCtx };
      const t0 = performance.now();
      const res = await fetch(`${url}/api/generate`, { method: "POST", body: JSON.stringify({ model, prompt, raw: true, stream: true, options }) });
      if (res.status !== 200) throw new Error(`/api/generate: ${res.status} ${await res.text()}`);
      let first = 0;
      let last = 0;
      let final: { prompt_eval_count?: number; eval_count?: number } = {};
      for await (const line of lines(res)) {
        const chunk = JSON.parse(line) as { done: boolean; response?: string; error?: string; prompt_eval_count?: number; eval_count?: number };
        if (chunk.error) throw new Error(`/api/generate: ${chunk.error}`);
        if (chunk.done) final = chunk;
        else if (chunk.response) {
          last = performance.now();
          if (!first) first = last;
        }
      }
      // A token whose text is still pending (part of a character) sends no chunk: the counts come from the runner.
      return sample(t0, first, last, final.prompt_eval_count ?? 0, final.eval_count ?? 0);
    },
  };
}

/** mlx_lm.server: POST /v1/completions (OpenAI), streamed SSE, usage in the last chunk. */
export function openaiClient(url: string): Server {
  return {
    url,
    async generate(prompt, maxTokens) {
      const body = { model: "default_model", prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } };
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`/v1/completions: ${res.status} ${await res.text()}`);
      let first = 0;
      let last = 0;
      let chunks = 0;
      let usage: { prompt_tokens?: number; completion_tokens?: number } = {};
      for await (const line of lines(res)) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") break;
        const chunk = JSON.parse(data) as { choices?: { text?: string }[]; usage?: typeof usage };
        if (chunk.usage) usage = chunk.usage;
        if (chunk.choices?.[0]?.text) {
          chunks++;
          last = performance.now();
          if (!first) first = last;
        }
      }
      return sample(t0, first, last, usage.prompt_tokens ?? 0, usage.completion_tokens ?? chunks);
    },
  };
}
