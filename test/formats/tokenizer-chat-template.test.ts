import { describe, expect, test } from "bun:test";
import {
  applyChatTemplate,
  ChatTemplateError,
  renderChatTemplate,
  type ChatMessage,
} from "../../src/formats/tokenizer/chat-template.ts";
import { Tokenizer, type TokenizerConfig } from "../../src/formats/tokenizer/tokenizer.ts";
import { fixtureDir, fixtureJson, runOracle, type FixtureName } from "./tokenizer-fixtures/fixtures.ts";

const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "City name, e.g. Zürich" } },
      required: ["city"],
    },
  },
};

const TOOL_CHAT: ChatMessage[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Weather in Zürich? 🌦" },
  {
    role: "assistant",
    // Qwen3's template reads message.content unconditionally: Ollama sends "", never null.
    content: "",
    reasoning_content: "The user wants weather.",
    tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: { city: "Zürich" } } }],
  },
  { role: "tool", content: '{"temp_c": 7}', tool_call_id: "call_1", name: "get_weather" },
  { role: "assistant", content: "7 °C." },
  { role: "user", content: "Thanks" },
];

const PLAIN_CHAT: ChatMessage[] = [
  { role: "system", content: "Answer in French." },
  { role: "user", content: "Hello" },
  { role: "assistant", content: "Bonjour !" },
  { role: "user", content: "How are you? 你好" },
];

interface Case {
  fixture: FixtureName;
  messages: ChatMessage[];
  tools?: Record<string, unknown>[];
  addGenerationPrompt: boolean;
  kwargs?: Record<string, unknown>;
}

const CASES: Record<string, Case> = {
  "qwen3 with tools, tool calls, a tool result and enable_thinking=false": {
    fixture: "qwen3-mini",
    messages: TOOL_CHAT,
    tools: [WEATHER_TOOL],
    addGenerationPrompt: true,
    kwargs: { enable_thinking: false },
  },
  "qwen3 with thinking on and reasoning in history": {
    fixture: "qwen3-mini",
    messages: TOOL_CHAT,
    addGenerationPrompt: true,
    kwargs: { enable_thinking: true },
  },
  "gemma3 folds the system message into the first user turn": {
    fixture: "gemma3",
    messages: PLAIN_CHAT,
    addGenerationPrompt: true,
  },
  "llama3.1 with tools and a fixed date": {
    fixture: "llama3_1",
    messages: [{ role: "system", content: "Use tools." }, { role: "user", content: "Weather in Zürich?" }],
    tools: [WEATHER_TOOL],
    addGenerationPrompt: true,
    kwargs: { date_string: "24 Nov 2025" },
  },
  "llama3.1 without tools, no generation prompt": {
    fixture: "llama3_1",
    messages: PLAIN_CHAT,
    addGenerationPrompt: false,
  },
};

async function render(c: Case): Promise<string> {
  const config = await fixtureJson<TokenizerConfig>(c.fixture, "tokenizer_config.json");
  const special: Record<string, string> = {};
  for (const key of ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]) {
    const v = config[key];
    if (typeof v === "string") special[key] = v;
    else if (v && typeof v === "object" && "content" in v) special[key] = String(v.content);
  }
  return renderChatTemplate(config.chat_template as string, c.messages, {
    tools: c.tools,
    addGenerationPrompt: c.addGenerationPrompt,
    kwargs: c.kwargs,
    specialTokens: special,
  });
}

describe("chat template", () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(`${name}: identical to transformers' apply_chat_template`, async () => {
      const oracle = await runOracle({
        dir: await fixtureDir(c.fixture),
        chats: [{ messages: c.messages, tools: c.tools, add_generation_prompt: c.addGenerationPrompt, kwargs: c.kwargs }],
      });
      expect(await render(c)).toBe(oracle.chats[0]);
    });
  }

  test("applyChatTemplate turns thinking on by default when the vocabulary has <think>", async () => {
    const tok = await Tokenizer.fromFiles(await fixtureDir("qwen3-mini"));
    const messages: ChatMessage[] = [{ role: "user", content: "Hi" }];
    const byDefault = applyChatTemplate(tok, messages, { addGenerationPrompt: true });
    const off = applyChatTemplate(tok, messages, { addGenerationPrompt: true, kwargs: { enable_thinking: false } });
    expect(byDefault).toBe("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    expect(off).toBe("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  });

  test("raise_exception in a template is a ChatTemplateError with the template's message", async () => {
    const c = { ...CASES["gemma3 folds the system message into the first user turn"] };
    c.messages = [{ role: "user", content: "a" }, { role: "user", content: "b" }];
    await expect(render(c)).rejects.toThrow(ChatTemplateError);
    await expect(render(c)).rejects.toThrow(/alternate/);
  });

  test("unsupported Jinja features fail loudly instead of rendering a wrong prompt", () => {
    for (const source of [
      `{{ "=" * 3 }}{{ messages[0].content }}`,
      `{{ messages[0].content | wordwrap(5) }}`,
      `{% for ch in messages[0].content %}{{ ch }}{% endfor %}`,
      `{% if %}`,
    ]) {
      expect(() => renderChatTemplate(source, [{ role: "user", content: "hello" }])).toThrow(ChatTemplateError);
    }
  });

  test("strftime_now is available to templates", () => {
    const year = String(new Date().getFullYear());
    expect(renderChatTemplate(`{{ strftime_now("%Y") }}`, [])).toBe(year);
  });
});
