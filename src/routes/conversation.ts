// The messages a template renders: the request's own, with what the model's Modelfile adds (SYSTEM, MESSAGEs), as
// Ollama's ChatHandler and GenerateHandler assemble them before chatPrompt.
import type { ChatMessage } from "../formats/tokenizer/chat-template.ts";
import { stripThinking, type ThinkingTags } from "../formats/tools/thinking.ts";
import type { Message } from "../schemas/index.ts";
import type { ModelLayers } from "./model-layers.ts";

function toChatMessage(m: Message): ChatMessage {
  const out: ChatMessage = { role: m.role, content: m.content ?? "" };
  if (m.thinking) out.thinking = m.thinking;
  if (m.tool_calls && m.tool_calls.length > 0) {
    out.tool_calls = m.tool_calls.map((call) => ({
      ...(call.id ? { id: call.id } : {}),
      type: "function",
      function: { name: call.function.name, arguments: call.function.arguments },
    }));
  }
  if (m.tool_name) out.name = m.tool_name;
  if (m.tool_call_id) out.tool_call_id = m.tool_call_id;
  return out;
}

/**
 * /api/chat: Modelfile MESSAGEs first; its SYSTEM in front unless the conversation starts with its own. A thinking
 * model's earlier thoughts are dropped (`tags`: withoutEarlierThinking).
 */
export function chatConversation(layers: ModelLayers, requested: readonly Message[], tags: ThinkingTags | undefined): ChatMessage[] {
  const conversation = [...(layers.messages ?? []), ...requested];
  const messages = withoutEarlierThinking(conversation, tags).map(toChatMessage);
  if (layers.system && requested[0]?.role !== "system") messages.unshift({ role: "system", content: layers.system });
  return messages;
}

/** /api/generate: the system prompt (the request's or the Modelfile's), the Modelfile's MESSAGEs, then the prompt. */
export function generateConversation(layers: ModelLayers, body: { prompt: string; system?: string | null; continues: boolean }): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const system = body.system ?? layers.system;
  if (system) messages.push({ role: "system", content: system });
  // as Ollama: a request continuing from `context` does not repeat the Modelfile's MESSAGEs
  if (!body.continues) for (const m of layers.messages ?? []) messages.push({ role: m.role, content: m.content ?? "" });
  messages.push({ role: "user", content: body.prompt });
  return messages;
}

/**
 * Assistant turns before the last user message lose their <think>…</think> text, as Ollama's filterThinkTags does
 * for thinking models: history thoughts cost context and templates drop them anyway.
 */
function withoutEarlierThinking(messages: Message[], tags: ThinkingTags | undefined): Message[] {
  if (!tags) return messages;
  const lastUser = messages.findLastIndex((m) => m.role === "user");
  return messages.map((m, i) =>
    i < lastUser && m.role === "assistant" && m.content ? { ...m, content: stripThinking(m.content, tags) } : m,
  );
}
