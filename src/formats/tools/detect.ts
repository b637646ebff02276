// Which tool-call format a model speaks, read from its chat template (the text that teaches the model the
// format) and, where the template is silent, its vocabulary. Order follows mlx-lm's _infer_tool_parser:
// the more specific markers first, since several families share <tool_call>.
import type { ToolFormat } from "./formats.ts";

/** Whether a chat template takes tools at all (Ollama's "tools" capability comes from the same question). */
export function templateTakesTools(chatTemplate: string): boolean {
  return /\btools\b/.test(chatTemplate);
}

/**
 * The tool-call format of a chat template, or undefined when the template takes no tools.
 * A template that takes tools but names no known marker falls back to "json" (a reply that is a JSON call).
 */
export function detectToolFormat(chatTemplate: string, vocab?: Set<string>): ToolFormat | undefined {
  const t = chatTemplate;
  if (t.includes("<|tool_call>") && t.includes("<tool_call|>")) return "gemma4";
  if (t.includes("<start_function_call>")) return "function_gemma";
  if (t.includes("<|tool_list_start|>") || t.includes("<|tool_call_start|>")) return "pythonic";
  if (t.includes("<tool_call>") && t.includes("<function=")) return "qwen3_coder";
  if (t.includes("<tool_call>") && t.includes("<arg_key>")) return "glm";
  if (t.includes("<｜tool▁calls▁begin｜>")) return "deepseek";
  if (t.includes("[TOOL_CALLS]")) return "mistral";
  if (t.includes("<|START_ACTION|>")) return "command_r";
  if (t.includes("<|tool_call|>")) return "granite";
  if (t.includes("<tool_call>")) return "hermes";
  // Llama 3.1 names <|python_tag|> and the ipython role; 3.2/3.3 only describe the JSON shape.
  if (t.includes("<|python_tag|>") || (t.includes("ipython") && t.includes('"parameters"'))) return "llama3";
  if (!templateTakesTools(t)) return undefined;
  if (vocab?.has("[TOOL_CALLS]")) return "mistral";
  if (vocab?.has("<｜tool▁calls▁begin｜>")) return "deepseek";
  if (vocab?.has("<tool_call>")) return "hermes";
  if (vocab?.has("<|python_tag|>")) return "llama3";
  return "json";
}
