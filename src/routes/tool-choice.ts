// Checking a request's tools and tool messages, and tool_choice: "none" hides the tools from the template,
// "required" or a named function force one call through constrained decoding (the engine's `tool_call`
// constraint: a literal prefix in the family's syntax, JSON of {name, arguments} valid against the tool's schema,
// a literal suffix). Ollama ignores tool_choice (ollama/ollama#8421); ollmlx honours it, on /v1 and on /api/chat.
import { InvalidRequestError } from "../api/errors.ts";
import { ConstraintError, SchemaProgram } from "../engine/constrain/schema.ts";
import type { OutputConstraint } from "../engine/protocol.ts";
import type { ToolFormat } from "../formats/tools/formats.ts";
import type { Message, Tool, ToolChoice } from "../schemas/index.ts";

/** Each tool needs a name, once, and an object schema for its parameters (what a call's arguments must be). */
export function checkTools(tools: readonly Tool[]): void {
  const seen = new Set<string>();
  for (const tool of tools) {
    const name = tool.function.name;
    if (name.trim() === "") throw new InvalidRequestError("invalid tool: function name is empty");
    if (seen.has(name)) throw new InvalidRequestError(`invalid tool: function "${name}" is declared twice`);
    seen.add(name);
    // A missing type reads as "object" (the schema's default), as Ollama's api.ToolFunctionParameters does.
    const type: unknown = tool.function.parameters.type ?? "object";
    if (type !== "object") {
      throw new InvalidRequestError(
        `invalid tool "${name}": parameters must be a JSON schema of type "object", got type ${JSON.stringify(type)}`,
      );
    }
  }
}

/**
 * A tool message that names the call it answers (tool_call_id) must answer a call an earlier assistant message
 * made; a dangling id means the conversation was assembled wrongly, and the template would render nonsense.
 */
export function checkToolMessages(messages: readonly Message[]): void {
  const callIds = new Set<string>();
  for (const message of messages) {
    for (const call of message.tool_calls ?? []) if (call.id) callIds.add(call.id);
    if (message.role === "tool" && message.tool_call_id && !callIds.has(message.tool_call_id)) {
      throw new InvalidRequestError(
        `tool message refers to unknown tool_call_id "${message.tool_call_id}": no earlier assistant message made that call`,
      );
    }
  }
}

/** The tools a tool_choice allows the model to call; [] for "none". */
export function allowedTools(tools: readonly Tool[], choice: ToolChoice | null | undefined): Tool[] {
  if (choice === "none") return [];
  if (choice && typeof choice === "object") {
    const name = choice.function.name;
    const tool = tools.find((t) => t.function.name === name);
    if (!tool) throw new InvalidRequestError(`tool_choice names function "${name}", which is not among the request's tools`);
    return [tool];
  }
  if (choice === "required" && tools.length === 0) {
    throw new InvalidRequestError('tool_choice is "required" but the request has no tools');
  }
  return [...tools];
}

export function forcesCall(choice: ToolChoice | null | undefined): boolean {
  return choice === "required" || (typeof choice === "object" && choice !== null);
}

/** A call's literal opening and closing, and the key its arguments go under, per family (formats.ts). */
const FORCED_SYNTAX: Partial<Record<ToolFormat, { prefix: string; suffix: string; argumentsKey: string }>> = {
  hermes: { prefix: "<tool_call>\n", suffix: "\n</tool_call>", argumentsKey: "arguments" },
  // Llama 3.x templates teach {"name", "parameters"} as the whole reply.
  llama3: { prefix: "", suffix: "", argumentsKey: "parameters" },
  // Mistral v3: [TOOL_CALLS] then a list of calls; the list of one is spelt out so the schema is one call.
  mistral: { prefix: "[TOOL_CALLS][", suffix: "]", argumentsKey: "arguments" },
  json: { prefix: "", suffix: "", argumentsKey: "arguments" },
  granite: { prefix: "<|tool_call|>[", suffix: "]", argumentsKey: "arguments" },
};

/** The parameters schema as given, without the null/absent fields clients send for unset ones. */
function parametersSchema(tool: Tool): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tool.function.parameters)) if (value !== null && value !== undefined) out[key] = value;
  return out;
}

/** A forced call's arguments are enforced by the engine: a schema beyond its subset is a 400 now, not at the runner. */
function checkEnforceable(tool: Tool): void {
  const schema = parametersSchema(tool);
  try {
    new SchemaProgram(schema).compile(schema);
  } catch (e) {
    if (!(e instanceof ConstraintError)) throw e;
    throw new InvalidRequestError(`tool_choice cannot force "${tool.function.name}": its parameters schema is not supported: ${e.message}`);
  }
}

/**
 * The constraint that forces one call to one of `tools`. `opening` is text that must come first (the close of a
 * thinking block the prompt opened, so the forced call lands in the content, not in the thought).
 */
export function forcedCallConstraint(format: ToolFormat, tools: readonly Tool[], opening = ""): OutputConstraint {
  const syntax = FORCED_SYNTAX[format];
  if (!syntax) {
    throw new InvalidRequestError(
      `tool_choice cannot force a call for this model: its tool calls (${format} syntax) are not JSON; use tool_choice "auto"`,
    );
  }
  for (const tool of tools) checkEnforceable(tool);
  const schema = {
    anyOf: tools.map((tool) => ({
      type: "object",
      properties: { name: { const: tool.function.name }, [syntax.argumentsKey]: parametersSchema(tool) },
      required: ["name", syntax.argumentsKey],
      additionalProperties: false,
    })),
  };
  return { kind: "tool_call", prefix: opening + syntax.prefix, schema, suffix: syntax.suffix };
}
