// OpenAI Responses requests → /api/chat's request, as Ollama's openai/responses.go (FromResponsesRequest) rewrites
// them. Where Ollama stops, this goes on: previous_response_id continues a stored conversation (the route keeps it),
// and tool_choice is honoured as on /v1/chat/completions.
import type { ChatRequest, Message, ResponsesInputItem, ResponsesRequest, Tool, ToolChoice } from "../schemas/index.ts";
import { InvalidRequestError } from "./errors.ts";
import { functionTool } from "./function-tool.ts";
import { fromOpenAIToolCalls, thinkFromReasoningEffort } from "./openai.ts";

const NO_VISION = "input_image and input_file are not supported yet (ollmlx has no vision models); send input_text";

/** A message's content: a string, or input_text / output_text parts joined. */
function textOfContent(content: ResponsesInputItem["content"]): string {
  if (content === undefined) return "";
  if (typeof content === "string") return content;
  return content
    .map((part) => {
      if (!part || typeof part !== "object") throw new InvalidRequestError("content parts must be objects");
      const type = part.type;
      if (type === "input_image" || type === "input_file") throw new InvalidRequestError(NO_VISION);
      if ((type !== "input_text" && type !== "output_text" && type !== "text") || typeof part.text !== "string") {
        throw new InvalidRequestError(`unsupported content part type ${JSON.stringify(type)}`);
      }
      return part.text;
    })
    .join("");
}

function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) return textOfContent(output as Record<string, unknown>[]);
  throw new InvalidRequestError("function_call_output: output must be a string or a list of input_text parts");
}

/** Input items → native messages; consecutive function calls join the assistant turn they belong to. */
export function fromResponsesInput(input: ResponsesRequest["input"], history: readonly Message[] = []): Message[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  const out: Message[] = [];
  const callNames = new Map<string, string>();
  for (const m of history) for (const call of m.tool_calls ?? []) if (call.id) callNames.set(call.id, call.function.name);
  let thinking = "";
  const assistant = (): Message => {
    const last = out[out.length - 1];
    if (last?.role === "assistant") return last;
    const message: Message = { role: "assistant", content: "" };
    out.push(message);
    return message;
  };
  for (const item of input) {
    const type = item.type ?? (item.role ? "message" : undefined);
    switch (type) {
      case "message": {
        const role = item.role === "developer" ? "system" : item.role;
        if (role !== "user" && role !== "system" && role !== "assistant") {
          throw new InvalidRequestError(`message role must be "user", "system", "developer" or "assistant", got ${JSON.stringify(item.role)}`);
        }
        const message: Message = { role, content: textOfContent(item.content) };
        if (role === "assistant" && thinking) message.thinking = thinking;
        thinking = "";
        out.push(message);
        break;
      }
      case "function_call": {
        if (!item.call_id || !item.name) throw new InvalidRequestError("function_call: call_id and name are required");
        const [call] = fromOpenAIToolCalls([{ id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments ?? "{}" } }]);
        const turn = assistant();
        if (thinking && !turn.thinking) turn.thinking = thinking;
        thinking = "";
        turn.tool_calls = [...(turn.tool_calls ?? []), { ...call!, function: { ...call!.function, index: turn.tool_calls?.length ?? 0 } }];
        callNames.set(item.call_id, item.name);
        break;
      }
      case "function_call_output": {
        if (!item.call_id) throw new InvalidRequestError("function_call_output: call_id is required");
        const message: Message = { role: "tool", content: outputText(item.output), tool_call_id: item.call_id };
        const name = callNames.get(item.call_id);
        if (name) message.tool_name = name;
        out.push(message);
        break;
      }
      case "reasoning":
        // a reasoning item precedes the assistant turn it belongs to
        thinking += (item.summary ?? []).map((s) => (typeof s.text === "string" ? s.text : "")).join("");
        break;
      default:
        throw new InvalidRequestError(`unsupported input item type ${JSON.stringify(item.type)}`);
    }
  }
  return out;
}

function fromResponsesTools(tools: ResponsesRequest["tools"]): Tool[] | undefined {
  if (!tools || tools.length === 0) return undefined;
  return tools.map((tool) => {
    if (tool.type !== "function") throw new InvalidRequestError(`tools: ${JSON.stringify(tool.type)} tools are not supported, only "function"`);
    if (!tool.name) throw new InvalidRequestError("tools: a function tool needs a name");
    return functionTool(tool.name, tool.description, tool.parameters ?? { type: "object", properties: {} });
  });
}

function fromResponsesToolChoice(choice: ResponsesRequest["tool_choice"]): ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === "string") return choice;
  return { type: "function", function: { name: choice.name } };
}

/**
 * /v1/responses → /api/chat. `history`: the stored conversation previous_response_id names; the request's
 * instructions go in front of it (OpenAI does not carry earlier instructions over). Sampling defaults are OpenAI's.
 */
export function fromResponsesRequest(request: ResponsesRequest, history: readonly Message[]): { chat: ChatRequest; conversation: Message[] } {
  const conversation = [...history, ...fromResponsesInput(request.input, history)];
  if (conversation.length === 0) throw new InvalidRequestError("input must not be empty");
  const messages = request.instructions ? [{ role: "system", content: request.instructions }, ...conversation] : conversation;
  const options: Record<string, unknown> = { temperature: request.temperature ?? 1.0, top_p: request.top_p ?? 1.0 };
  if (request.max_output_tokens != null) options.num_predict = request.max_output_tokens;
  const chat: ChatRequest = { model: request.model, messages, options, stream: true };
  const tools = fromResponsesTools(request.tools);
  if (tools) chat.tools = tools;
  const choice = fromResponsesToolChoice(request.tool_choice);
  if (choice !== undefined) chat.tool_choice = choice;
  const format = request.text?.format;
  if (format?.type === "json_object") chat.format = "json";
  else if (format?.type === "json_schema") {
    if (!format.schema) throw new InvalidRequestError("text.format: a json_schema format needs its schema");
    chat.format = format.schema;
  }
  const think = thinkFromReasoningEffort(request.reasoning?.effort);
  if (think !== undefined) chat.think = think;
  return { chat, conversation };
}
