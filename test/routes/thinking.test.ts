// think on /api/generate, /api/chat and /v1 against a real server and real MLX runners (the tiny random-weight
// Qwen3). Random weights never close a thought on purpose, so separation is shown on a model whose prompt opens
// the thought (everything it says is thinking); the split of real Qwen3 replies is in reply-stream.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { capabilitiesOf } from "../../src/routes/model-layers.ts";
import type { StoredModel } from "../../src/store/store.ts";
import { importPlainModel, importThinkingOpenModel } from "./fixtures/tiny-variants.ts";
import { ndjson, post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  await importPlainModel(server.store, "plain:latest");
  await importThinkingOpenModel(server.store, "opener:latest");
});
afterAll(() => server.close());

const OPTIONS = { num_predict: 6, seed: 9, temperature: 0 };

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe("capabilities", () => {
  test("/api/show lists thinking for a template with <think> tags, not for a model without", async () => {
    const show = async (model: string) => (await json(await post(server.url, "/api/show", { model }))).capabilities;
    expect(await show(TINY)).toEqual(["completion", "tools", "thinking"]);
    expect(await show("opener")).toEqual(["completion", "tools", "thinking"]);
    expect(await show("plain")).toEqual(["completion"]);
  });

  test("thinking is detected from each family's tags; a template with only one of the pair does not count", () => {
    const model = { config: {} } as StoredModel;
    const caps = (chatTemplate: string) => capabilitiesOf(model, { license: [], chatTemplate });
    expect(caps("{{ '<think>' }}{{ content }}{{ '</think>' }}")).toEqual(["completion", "thinking"]);
    expect(caps("[THINK]{{ thinking }}[/THINK]{% for t in tools %}{% endfor %}")).toEqual(["completion", "tools", "thinking"]);
    expect(caps("<|channel>thought\n{{ thinking }}<channel|>")).toEqual(["completion", "thinking"]);
    expect(caps("{{ content.split('</think>')[-1] }}")).toEqual(["completion"]);
  });

  test("think on a model without the capability is Ollama's 400, on generate, chat and /v1", async () => {
    const error = { error: '"plain:latest" does not support thinking' };
    const generate = await post(server.url, "/api/generate", { model: "plain", prompt: "hi", think: true });
    expect(generate.status).toBe(400);
    expect(await generate.json()).toEqual(error);
    const chat = await post(server.url, "/api/chat", { model: "plain", messages: [{ role: "user", content: "hi" }], think: "high" });
    expect(chat.status).toBe(400);
    expect(await chat.json()).toEqual(error);
    const v1 = await post(server.url, "/v1/chat/completions", {
      model: "plain",
      messages: [{ role: "user", content: "hi" }],
      reasoning_effort: "low",
    });
    expect(v1.status).toBe(400);
    expect(((await json(v1)).error as { message: string }).message).toBe(error.error);
    // think:false is allowed everywhere: it asks for less, not more
    const off = await post(server.url, "/api/generate", { model: "plain", prompt: "hi", think: false, stream: false, options: OPTIONS });
    expect(off.status).toBe(200);
  });
});

describe("think in the template", () => {
  test("think:false renders enable_thinking false: Qwen3's template adds the empty <think></think> to the prompt", async () => {
    const count = async (think: boolean) => {
      const body = { model: TINY, messages: [{ role: "user", content: "hello" }], think, stream: false, options: OPTIONS };
      return (await json(await post(server.url, "/api/chat", body))).prompt_eval_count as number;
    };
    const [on, off] = [await count(true), await count(false)];
    // "<think>", "\n\n", "</think>", "\n\n": the tokens of the closed empty block
    expect(off - on).toBe(4);
  });

  test("earlier assistant turns' thinking costs no prompt tokens", async () => {
    const count = async (answer: string) => {
      const messages = [
        { role: "user", content: "hello" },
        { role: "assistant", content: answer },
        { role: "user", content: "and now?" },
      ];
      return (await json(await post(server.url, "/api/chat", { model: TINY, messages, stream: false, options: OPTIONS }))).prompt_eval_count;
    };
    expect(await count("<think>\nA long deliberation about greetings.\n</think>\n\nHi there.")).toBe(await count("Hi there."));
  });
});

describe("thinking separated from content", () => {
  test("generate: a prompt that opens the thought streams the reply as thinking, response stays empty", async () => {
    const response = await post(server.url, "/api/generate", { model: "opener", prompt: "hi", options: OPTIONS });
    const chunks = await ndjson(response);
    const thinking = chunks.map((c) => (c.thinking as string | undefined) ?? "").join("");
    expect(thinking.length).toBeGreaterThan(0);
    expect(chunks.map((c) => c.response).join("")).toBe("");
    expect(chunks.filter((c) => c.thinking).length).toBeGreaterThan(1); // streamed, not held to the end
    expect(chunks.at(-1)).toMatchObject({ done: true, response: "" });
  });

  test("generate stream:false aggregates the thinking; think:false gives plain response text", async () => {
    const on = await json(await post(server.url, "/api/generate", { model: "opener", prompt: "hi", stream: false, options: OPTIONS }));
    expect((on.thinking as string).length).toBeGreaterThan(0);
    expect(on.response).toBe("");
    const off = await json(
      await post(server.url, "/api/generate", { model: "opener", prompt: "hi", stream: false, think: false, options: OPTIONS }),
    );
    expect(off.thinking).toBeUndefined();
    expect((off.response as string).length).toBeGreaterThan(0);
  });

  test("chat: message.thinking streams separately; the final chunk is empty", async () => {
    const body = { model: "opener", messages: [{ role: "user", content: "hi" }], think: "high", options: OPTIONS };
    const chunks = await ndjson(await post(server.url, "/api/chat", body));
    const messages = chunks.map((c) => c.message as { content: string; thinking?: string });
    expect(messages.map((m) => m.thinking ?? "").join("").length).toBeGreaterThan(0);
    expect(messages.map((m) => m.content).join("")).toBe("");
    expect(chunks.at(-1)).toMatchObject({ done: true, message: { role: "assistant", content: "" } });
  });

  test("/v1/chat/completions puts the thinking in reasoning, streamed and not", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "ollmlx" });
    const request = { model: "opener", messages: [{ role: "user" as const, content: "hi" }], max_tokens: 6, seed: 9, temperature: 0 };
    const whole = await client.chat.completions.create(request);
    const message = whole.choices[0]!.message as unknown as { content: string; reasoning?: string };
    expect(message.reasoning!.length).toBeGreaterThan(0);
    expect(message.content).toBe("");
    let reasoning = "";
    for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
      reasoning += (chunk.choices[0]?.delta as { reasoning?: string } | undefined)?.reasoning ?? "";
    }
    expect(reasoning).toBe(message.reasoning!);
  });
});
