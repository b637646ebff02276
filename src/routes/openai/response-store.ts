// The responses kept for GET /v1/responses/{id} and previous_response_id: in memory, the most recent ones only
// (a server restart forgets them, as a stateless Ollama would). Each keeps the conversation it ended, so a
// continuation is that conversation plus the new input.
import { InvalidRequestError, OllamaError } from "../../api/errors.ts";
import type { Message, ResponseObject, ResponsesOutputItem } from "../../schemas/index.ts";

/** How many responses are kept; the oldest goes first. A long agent session chains far fewer than this. */
const KEPT_RESPONSES = 512;

interface Stored {
  response: ResponseObject;
  conversation: Message[];
}

/** The assistant turn a response's output items make, as the next request's history carries it. */
export function assistantTurnOf(output: readonly ResponsesOutputItem[]): Message {
  const turn: Message = { role: "assistant", content: "" };
  for (const item of output) {
    if (item.type === "message") turn.content += item.content.map((part) => part.text).join("");
    else if (item.type === "reasoning") turn.thinking = (turn.thinking ?? "") + item.summary.map((s) => s.text).join("");
    else {
      const calls = turn.tool_calls ?? [];
      calls.push({ id: item.call_id, function: { index: calls.length, name: item.name, arguments: JSON.parse(item.arguments) as Record<string, unknown> } });
      turn.tool_calls = calls;
    }
  }
  return turn;
}

export class ResponseStore {
  private readonly kept = new Map<string, Stored>();

  /** Keeps a finished response and the conversation up to and including its output. */
  put(response: ResponseObject, input: readonly Message[]): void {
    this.kept.set(response.id, { response, conversation: [...input, assistantTurnOf(response.output)] });
    while (this.kept.size > KEPT_RESPONSES) this.kept.delete(this.kept.keys().next().value!);
  }

  /** GET /v1/responses/{id}. */
  get(id: string): ResponseObject {
    const stored = this.kept.get(id);
    if (!stored) throw new OllamaError(404, `Response with id '${id}' not found.`);
    return stored.response;
  }

  /** The conversation previous_response_id continues; OpenAI answers an unknown id with a 400. */
  conversation(id: string): Message[] {
    const stored = this.kept.get(id);
    if (!stored) throw new InvalidRequestError(`Previous response with id '${id}' not found.`);
    return stored.conversation;
  }
}
