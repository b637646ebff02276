// A native function tool from the pieces Anthropic's and Responses' tools carry (a name, a description, a JSON
// schema), checked against the same Tool schema /api/chat validates its tools with: the template and the
// constrained decoder downstream can then trust its shape.
import { Tool } from "../schemas/index.ts";
import { InvalidRequestError } from "./errors.ts";
import { validationMessage } from "./validation.ts";

export function functionTool(name: string, description: string | null | undefined, parameters: unknown): Tool {
  const tool = { type: "function", function: { name, ...(description ? { description } : {}), parameters } };
  const problem = validationMessage(Tool, tool);
  if (problem) throw new InvalidRequestError(`invalid tool ${JSON.stringify(name)}: ${problem}`);
  return tool as Tool;
}
