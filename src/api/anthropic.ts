// Anthropic Messages requests → /api/chat's request, as Ollama's anthropic/anthropic.go (FromMessagesRequest)
// rewrites them, with Anthropic's own semantics where Ollama drops them: tool_choice is honoured (any/tool force a
// call by constrained decoding, none hides the tools) and thinking is off unless the request enables it.
import type { AnthropicContentBlock, AnthropicCountTokensRequest, AnthropicMessage, AnthropicMessagesRequest, ChatRequest, Message, Tool, ToolCall, ToolChoice } from "../schemas/index.ts";
import { InvalidRequestError } from "./errors.ts";
import { functionTool } from "./function-tool.ts";
import { thinkFromReasoningEffort } from "./openai.ts";

/** Vision needs a vision model, which the engine does not have yet: say so rather than answer blind. */
export const IMAGE_UNSUPPORTED = "messages: image content blocks are not supported yet (ollmlx has no vision models); send text";

function textOfBlocks(blocks: readonly { type: string; text?: string }[], where: string): string {
  return blocks
    .map((block) => {
      if (!block || typeof block !== "object") throw new InvalidRequestError(`${where}: expected text blocks`);
      if (block.type === "image") throw new InvalidRequestError(IMAGE_UNSUPPORTED);
      if (block.type !== "text" || typeof block.text !== "string") throw new InvalidRequestError(`${where}: expected text blocks, got ${JSON.stringify(block.type)}`);
      return block.text;
    })
    .join("\n");
}

/** tool_result.content: a string, or text blocks (joined as Ollama joins them). */
function toolResultText(content: unknown): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return textOfBlocks(content as { type: string; text?: string }[], "tool_result.content");
  throw new InvalidRequestError("tool_result.content must be a string or a list of text blocks");
}

function toolInput(block: AnthropicContentBlock): Record<string, unknown> {
  const input = block.input ?? {};
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new InvalidRequestError("tool_use.input must be a JSON object");
  return input as Record<string, unknown>;
}

/** The name of the tool a tool_result answers, from the assistant tool_use with its id. */
function toolNameOf(messages: readonly AnthropicMessage[], id: string): string {
  for (const message of messages) {
    if (typeof message.content === "string") continue;
    for (const block of message.content) if (block.type === "tool_use" && block.id === id && block.name) return block.name;
  }
  return "";
}

/** One Anthropic message → native messages: a user turn's tool_results become tool messages, ahead of its text. */
function fromAnthropicMessage(message: AnthropicMessage, all: readonly AnthropicMessage[]): Message[] {
  if (typeof message.content === "string") return [{ role: message.role, content: message.content }];
  const out: Message[] = [];
  let text = "";
  let thinking = "";
  const calls: ToolCall[] = [];
  for (const block of message.content) {
    switch (block.type) {
      case "text":
        if (typeof block.text !== "string") throw new InvalidRequestError("text block: text is required");
        text += block.text;
        break;
      case "image":
        throw new InvalidRequestError(IMAGE_UNSUPPORTED);
      case "thinking":
        if (message.role === "assistant") thinking += block.thinking ?? "";
        break;
      case "redacted_thinking":
        break; // encrypted by another server: nothing this model can read
      case "tool_use":
        if (message.role !== "assistant") throw new InvalidRequestError("tool_use blocks belong in assistant messages");
        if (!block.id || !block.name) throw new InvalidRequestError("tool_use block: id and name are required");
        calls.push({ id: block.id, function: { index: calls.length, name: block.name, arguments: toolInput(block) } });
        break;
      case "tool_result": {
        if (message.role !== "user") throw new InvalidRequestError("tool_result blocks belong in user messages");
        if (!block.tool_use_id) throw new InvalidRequestError("tool_result block: tool_use_id is required");
        const result = toolResultText(block.content);
        const tool: Message = { role: "tool", content: block.is_error ? `Error: ${result}` : result, tool_call_id: block.tool_use_id };
        const name = toolNameOf(all, block.tool_use_id);
        if (name) tool.tool_name = name;
        out.push(tool);
        break;
      }
      default:
        throw new InvalidRequestError(`messages: unsupported content block type ${JSON.stringify(block.type)}`);
    }
  }
  if (message.role === "assistant") {
    const reply: Message = { role: "assistant", content: text };
    if (thinking) reply.thinking = thinking;
    if (calls.length > 0) reply.tool_calls = calls;
    out.push(reply);
  } else if (text !== "" || out.length === 0) out.push({ role: "user", content: text });
  return out;
}

function fromAnthropicTools(request: AnthropicCountTokensRequest): Tool[] | undefined {
  if (!request.tools || request.tools.length === 0) return undefined;
  return request.tools.map((tool) => {
    if (tool.type && tool.type !== "custom") throw new InvalidRequestError(`tools: server tool ${JSON.stringify(tool.type)} is not supported`);
    if (tool.input_schema.type !== "object") throw new InvalidRequestError(`tools: ${tool.name}: input_schema.type must be "object"`);
    return functionTool(tool.name, tool.description, tool.input_schema);
  });
}

function fromAnthropicToolChoice(choice: AnthropicCountTokensRequest["tool_choice"]): ToolChoice | undefined {
  switch (choice?.type) {
    case undefined:
    case "auto":
      return undefined;
    case "none":
      return "none";
    case "any":
      return "required";
    case "tool":
      if (!choice.name) throw new InvalidRequestError('tool_choice: type "tool" needs the tool\'s name');
      return { type: "function", function: { name: choice.name } };
  }
}

/**
 * The prompt half of a request (messages, system, tools, thinking) as a chat request. `thinks`: whether the model
 * can think; Anthropic's thinking is opt-in, and a model that cannot think answers without it (as Ollama does).
 */
export function fromAnthropicPrompt(request: AnthropicCountTokensRequest, thinks: boolean): ChatRequest {
  if (request.messages.length === 0) throw new InvalidRequestError("messages: at least one message is required");
  const messages = request.messages.flatMap((message) => fromAnthropicMessage(message, request.messages));
  const system = typeof request.system === "string" ? request.system : request.system ? textOfBlocks(request.system, "system") : "";
  if (system) messages.unshift({ role: "system", content: system });
  const chat: ChatRequest = { model: request.model, messages };
  const tools = fromAnthropicTools(request);
  if (tools) chat.tools = tools;
  const choice = fromAnthropicToolChoice(request.tool_choice);
  if (choice !== undefined) {
    if (!tools && choice !== "none") throw new InvalidRequestError("tool_choice: the request has no tools");
    if (tools) chat.tool_choice = choice;
  }
  if (thinks) {
    const type = request.thinking?.type;
    const on = type !== undefined && type !== "disabled";
    const level = thinkFromReasoningEffort(request.output_config?.effort);
    chat.think = on ? (level ?? true) : false;
  }
  const format = request.output_config?.format;
  if (format) chat.format = format.schema;
  return chat;
}

/** /v1/messages → /api/chat: max_tokens is num_predict; temperature defaults to Anthropic's 1.0. */
export function fromAnthropicRequest(request: AnthropicMessagesRequest, thinks: boolean): ChatRequest {
  const chat = fromAnthropicPrompt(request, thinks);
  const options: Record<string, unknown> = { num_predict: request.max_tokens, temperature: request.temperature ?? 1.0 };
  if (request.top_p != null) options.top_p = request.top_p;
  if (request.top_k != null) options.top_k = request.top_k;
  const stops = (request.stop_sequences ?? []).filter((s) => s.length > 0);
  if (stops.length > 0) options.stop = stops;
  return { ...chat, options, stream: true };
}
