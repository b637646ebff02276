// Ollama's library templates (template/*.gotmpl) rendered for the conversations of Ollama's own template tests,
// compared byte for byte with the prompts Ollama's Go renderer produces (template/testdata/<name>.gotmpl/<case>).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GoTemplate, type TemplateMessageInput } from "../../src/formats/tokenizer/go-template/index.ts";

const dir = join(import.meta.dir, "go-template-fixtures", "library");
const names = readdirSync(dir).filter((f) => f.endsWith(".gotmpl")).map((f) => f.slice(0, -".gotmpl".length));

const user: TemplateMessageInput = { role: "user", content: "Hello, how are you?" };
const assistant: TemplateMessageInput = { role: "assistant", content: "I'm doing great. How can I help you today?" };
const user2: TemplateMessageInput = { role: "user", content: "I'd like to show off how chat templating works!" };
const cases: Record<string, TemplateMessageInput[]> = {
  user: [user],
  "user-assistant-user": [user, assistant, user2],
  "system-user-assistant-user": [{ role: "system", content: "You are a helpful assistant." }, user, assistant, user2],
};
// Ollama's test drops one trailing space from these templates' output before comparing (template_test.go).
const TRAILING_SPACE = new Set(["chatqa", "llama2-chat", "mistral-instruct", "openchat", "vicuna"]);

test("the fixture set holds Ollama's library templates", () => {
  expect(names.length).toBeGreaterThanOrEqual(20);
  expect(names).toContain("llama3-instruct");
  expect(names).toContain("chatml");
});

describe.each(names)("%s", (name) => {
  const tmpl = GoTemplate.parse(readFileSync(join(dir, `${name}.gotmpl`), "utf8"));
  test.each(Object.keys(cases))("renders %s as Ollama does", (c) => {
    let got = tmpl.execute({ messages: cases[c] });
    if (TRAILING_SPACE.has(name) && got.endsWith(" ")) got = got.slice(0, -1);
    expect(got).toBe(readFileSync(join(dir, name, c), "utf8"));
  });
});
