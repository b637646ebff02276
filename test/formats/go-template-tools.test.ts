// Tool-calling templates of Ollama's library models (qwen2.5, llama3.2, mistral, command-r-plus, ...) rendered over a
// conversation with a tool call and its result, compared with the prompts Ollama rendered (its tools/testdata).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GoTemplate, type TemplateMessageInput, type TemplateToolInput } from "../../src/formats/tokenizer/go-template/index.ts";

const dir = join(import.meta.dir, "go-template-fixtures", "tools");
const read = (f: string) => readFileSync(join(dir, f), "utf8");
const messages = JSON.parse(read("messages.json")) as TemplateMessageInput[];
const tools = JSON.parse(read("tools.json")) as TemplateToolInput[];
const names = readdirSync(dir).filter((f) => f.endsWith(".gotmpl")).map((f) => f.slice(0, -".gotmpl".length));

describe.each(names)("%s", (name) => {
  test("renders system, tools, a tool call, its result and the next user turn as Ollama does", () => {
    const tmpl = GoTemplate.parse(read(`${name}.gotmpl`));
    expect(tmpl.execute({ messages, tools })).toBe(read(`${name}.out`));
  });
});
