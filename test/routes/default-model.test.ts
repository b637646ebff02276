// The default model as setup installs it (scripts/import-default-model.ts): smollm2:135m with a TEMPLATE that has a
// tools branch, so it lists `tools` and tool calls work end to end, while requests without tools see the prompt the
// GGUF's own chat template renders. Real SmolLM2-135M weights, real runners.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { Scheduler, schedulerOptionsFromEnv } from "../../src/scheduler/scheduler.ts";
import { createApp } from "../../src/server.ts";
import { Store } from "../../src/store/store.ts";
import { post } from "./harness.ts";

const ROOT = join(import.meta.dir, "../..");
const GGUF = join(ROOT, ".deps/models/smollm2-135m-instruct-q4_1.gguf");

let root: string;
let scheduler: Scheduler;
let app: ReturnType<typeof createApp>;
let url: string;
let importLog: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "ollmlx-default-model-"));
  const store = new Store(root);
  // as a store set up before the TEMPLATE existed holds it, and the same weights with no layers to compare against
  await store.importGguf("smollm2:135m", GGUF, ggufConfigBlob(GGUF));
  await store.importGguf("bare-smollm2", GGUF, ggufConfigBlob(GGUF));
  const run = Bun.spawn([process.execPath, join(ROOT, "scripts/import-default-model.ts")], {
    env: { ...process.env, OLLMLX_MODELS: root },
    stderr: "pipe",
  });
  importLog = await new Response(run.stderr).text();
  expect(await run.exited).toBe(0);
  scheduler = new Scheduler(store, schedulerOptionsFromEnv({}));
  app = createApp({ store, scheduler });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${app.server!.port}`;
});
afterAll(async () => {
  await app.stop(true);
  await scheduler.shutdown();
  rmSync(root, { recursive: true, force: true });
});

const WEATHER = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "London"] } }, required: ["city"] },
  },
};

async function promptTokens(model: string, messages: unknown[]): Promise<number> {
  const r = await post(url, "/api/chat", { model, messages, stream: false, options: { num_predict: 1, temperature: 0 } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { prompt_eval_count: number }).prompt_eval_count;
}

describe("the default model", () => {
  test("setup updates a smollm2:135m imported without a TEMPLATE; show lists completion and tools", async () => {
    expect(importLog).toContain("updated smollm2:135m");
    const show = (await (await post(url, "/api/show", { model: "smollm2:135m" })).json()) as { capabilities: string[]; template: string; parameters: string };
    expect(show.capabilities).toEqual(["completion", "tools"]);
    expect(show.template).toContain("{{- if .Tools }}");
    expect(show.parameters).toContain("<|im_end|>");
  });

  test("without tools the prompt is the one the GGUF's own chat template renders", async () => {
    const conversations = [
      [{ role: "user", content: "What is the capital of France?" }],
      [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello." },
        { role: "user", content: "Name a colour." },
      ],
    ];
    for (const messages of conversations) expect(await promptTokens("smollm2:135m", messages)).toBe(await promptTokens("bare-smollm2", messages));
  });

  test("a tool call end to end through the openai client, and the tool's result answered", async () => {
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "ollmlx", maxRetries: 0 });
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "What is the weather in Paris?" }];
    const first = await openai.chat.completions.create({ model: "smollm2:135m", messages, tools: [WEATHER], tool_choice: "required", max_tokens: 48, temperature: 0 });
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe("get_weather");
    expect(["Paris", "London"]).toContain((JSON.parse(call.function.arguments) as { city: string }).city);
    const answer = await openai.chat.completions.create({
      model: "smollm2:135m",
      tools: [WEATHER],
      max_tokens: 16,
      temperature: 0,
      messages: [...messages, first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: "18 degrees and sunny" }],
    });
    expect(answer.choices[0]!.message.content!.length).toBeGreaterThan(0);
  });
});

describe("/api/generate and tool calls", () => {
  // SmolLM2-135M copies a call from a shown example; stop at the blank line it writes after the call
  const prompt = 'You can call tools like this: <tool_call>\n{"name": "get_weather", "arguments": {"city": "London"}}\n</tool_call>\nNow call get_weather for Paris.';
  const options = { num_predict: 60, temperature: 0, stop: ["\n\n"] };

  test("a templated prompt: the call comes out whole in tool_calls on the done chunk, not in the response (as Ollama's parsers)", async () => {
    const r = await post(url, "/api/generate", { model: "smollm2:135m", prompt, stream: false, options });
    const body = (await r.json()) as { response: string; tool_calls?: { id: string; function: { index: number; name: string; arguments: unknown } }[] };
    expect(body.tool_calls).toEqual([{ id: expect.stringMatching(/^call_/), function: { index: 0, name: "get_weather", arguments: { city: "Paris" } } }]);
    expect(body.response).not.toContain("<tool_call>");
    const streamed = await post(url, "/api/generate", { model: "smollm2:135m", prompt, options });
    const chunks = (await streamed.text()).trim().split("\n").map((l) => JSON.parse(l) as { response: string; done: boolean; tool_calls?: unknown[] });
    expect(chunks.filter((c) => c.tool_calls).map((c) => c.done)).toEqual([true]);
    expect(chunks.map((c) => c.response).join("")).toBe(body.response);
  });

  test("a raw prompt stays the caller's text: no parsing", async () => {
    const r = await post(url, "/api/generate", { model: "smollm2:135m", prompt: `<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n${prompt}<|im_end|>\n<|im_start|>assistant\n`, raw: true, stream: false, options });
    const body = (await r.json()) as { response: string; tool_calls?: unknown[] };
    expect(body.tool_calls).toBeUndefined();
    // the templated prompt's own text (SmolLM2's template and default system prompt): the same call, left in place
    expect(body.response).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}');
  });

  test("a model without tools is never parsed", async () => {
    const r = await post(url, "/api/generate", { model: "bare-smollm2", prompt, stream: false, options });
    const body = (await r.json()) as { response: string; tool_calls?: unknown[] };
    expect(body.tool_calls).toBeUndefined();
    expect(body.response).toContain("<tool_call>");
  });
});
