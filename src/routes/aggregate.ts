// stream:false: the chunks of a response folded into one object, as Ollama does (routes.go): text and
// logprobs concatenated, everything else from the final chunk.
import type { ChatResponse, GenerateResponse, Logprob } from "../schemas/index.ts";

async function fold<T extends { done: boolean; logprobs?: Logprob[] }>(
  chunks: AsyncIterable<T>,
  append: (into: T, chunk: T) => void,
): Promise<T> {
  let result: T | undefined;
  const logprobs: Logprob[] = [];
  for await (const chunk of chunks) {
    if (chunk.logprobs) logprobs.push(...chunk.logprobs);
    if (!result) result = { ...chunk };
    else {
      const text = result;
      result = { ...chunk };
      append(result, text);
    }
  }
  if (!result) throw new Error("the generation ended without a response");
  if (logprobs.length > 0) result.logprobs = logprobs;
  else delete result.logprobs;
  return result;
}

/** `previous` carries the text so far; `last` is the newest chunk, whose own text is appended to it. */
export function aggregateGenerate(chunks: AsyncIterable<GenerateResponse>): Promise<GenerateResponse> {
  return fold(chunks, (last, previous) => {
    last.response = previous.response + last.response;
    const thinking = (previous.thinking ?? "") + (last.thinking ?? "");
    if (thinking) last.thinking = thinking;
  });
}

export function aggregateChat(chunks: AsyncIterable<ChatResponse>): Promise<ChatResponse> {
  return fold(chunks, (last, previous) => {
    const message = { ...last.message, content: previous.message.content + last.message.content };
    const thinking = (previous.message.thinking ?? "") + (last.message.thinking ?? "");
    if (thinking) message.thinking = thinking;
    const calls = [...(previous.message.tool_calls ?? []), ...(last.message.tool_calls ?? [])];
    if (calls.length > 0) message.tool_calls = calls;
    last.message = message;
  });
}
