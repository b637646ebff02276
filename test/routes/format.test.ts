// `format` (native routes) and `response_format` (/v1) are enforced by constrained decoding: with random
// weights (the tiny qwen3, a good adversary) every seeded sample at temperature 1 still parses and validates;
// a real instruct model (SmolLM2 GGUF) gives a JSON object for format "json".
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { PERSON, SMOLLM2 } from "../engine/constrain-fixtures.ts";
import { ndjson, post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
const SMOL = "smollm2:135m";
beforeAll(async () => {
  server = await startServer();
  await server.store.importGguf(SMOL, SMOLLM2, ggufConfigBlob(SMOLLM2));
});
afterAll(() => server.close());

const validate = new Ajv2020({ strict: false }).compile(PERSON);
const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
const options = (seed: number) => ({ temperature: 1, seed, num_predict: 400 });
const messages = [{ role: "user" as const, content: "Describe a person as JSON." }];

/** Parses and validates one output; the failure message names the seed and the text. */
function expectValid(seed: number, text: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  expect({ seed, text, valid: value !== undefined && validate(value) }).toEqual({ seed, text, valid: true });
}

describe("format with a JSON schema on random weights", () => {
  test("/api/chat: 20 seeded samples all parse and validate, and end with done_reason stop", async () => {
    for (const seed of SEEDS) {
      const response = await post(server.url, "/api/chat", { model: TINY, messages, format: PERSON, stream: false, options: options(seed) });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { message: { content: string }; done_reason: string };
      expectValid(seed, body.message.content);
      expect(body.done_reason).toBe("stop");
    }
  });

  test("/api/generate streamed: 20 seeded samples all parse and validate", async () => {
    for (const seed of SEEDS) {
      const response = await post(server.url, "/api/generate", { model: TINY, prompt: "A person as JSON:", format: PERSON, options: options(seed) });
      expect(response.status).toBe(200);
      const chunks = await ndjson(response);
      expectValid(seed, chunks.map((c) => c.response as string).join(""));
      expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: "stop" });
    }
  });

  test("/v1/chat/completions response_format json_schema (openai client): 20 seeded samples all validate", async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "ollmlx" });
    for (const seed of SEEDS) {
      const completion = await openai.chat.completions.create({
        model: TINY,
        messages,
        seed,
        max_tokens: 400,
        response_format: { type: "json_schema", json_schema: { name: "person", schema: PERSON } },
      });
      expectValid(seed, completion.choices[0]!.message.content ?? "");
      expect(completion.choices[0]!.finish_reason).toBe("stop");
    }
  });

  test("/api/chat through the ollama client: 20 seeded samples all validate", async () => {
    const ollama = new Ollama({ host: server.url });
    for (const seed of SEEDS) {
      const reply = await ollama.chat({ model: TINY, messages, format: PERSON, options: options(seed) });
      expectValid(seed, reply.message.content);
    }
  });
});

describe("format under a budget that ends mid-value", () => {
  // the shortest value, {"name":"","age":0}, is 19 bytes: every budget from 20 tokens closes in time
  const CITIZEN = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" }, city: { type: "string" }, tags: { type: "array", items: { type: "string" } } }, required: ["name", "age"] };
  const validCitizen = new Ajv2020({ strict: false }).compile(CITIZEN);
  const check = (seed: number, budget: number, text: string, reason: string) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    expect({ seed, budget, text, valid: value !== undefined && validCitizen(value), reason }).toEqual({ seed, budget, text, valid: true, reason: "stop" });
  };

  test("random weights, /api/chat at temperature 1: 50 seeded samples with num_predict from 20 to 200 all parse and validate", async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const budget = 20 + ((seed * 37) % 181);
      const response = await post(server.url, "/api/chat", { model: TINY, messages, format: CITIZEN, stream: false, options: { temperature: 1, seed, num_predict: budget } });
      const body = (await response.json()) as { message: { content: string }; done_reason: string; eval_count: number };
      check(seed, budget, body.message.content, body.done_reason);
      expect(body.eval_count).toBeLessThanOrEqual(budget);
    }
  });

  test("SmolLM2 (the default model) at temperature 1 with num_predict 20, through the ollama and openai clients: every sample parses", async () => {
    const ollama = new Ollama({ host: server.url });
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "ollmlx" });
    const ask = [{ role: "user" as const, content: "Describe a citizen of Paris, with a long name and a long list of tags, as JSON." }];
    for (let seed = 1; seed <= 4; seed++) {
      const reply = await ollama.chat({ model: SMOL, messages: ask, format: CITIZEN, options: { temperature: 1, seed, num_predict: 20 } });
      check(seed, 20, reply.message.content, reply.done_reason);
      const completion = await openai.chat.completions.create({
        model: SMOL,
        messages: ask,
        seed,
        temperature: 1,
        max_tokens: 20,
        response_format: { type: "json_schema", json_schema: { name: "citizen", schema: CITIZEN } },
      });
      check(seed, 20, completion.choices[0]!.message.content ?? "", completion.choices[0]!.finish_reason);
    }
  });
});

describe("format with thinking", () => {
  test("think true, or unset on a thinking model (as Ollama): a thought may come first, closed in time; the content is the validated JSON", async () => {
    for (const seed of SEEDS.slice(0, 8)) {
      // random weights rarely close a thought of their own: within 150 tokens the gate closes it while PERSON fits
      // (test/engine/constrain-generate.test.ts starts one inside a thought)
      const think = seed % 2 ? { think: true } : {};
      const response = await post(server.url, "/api/chat", { model: TINY, messages, format: PERSON, ...think, stream: false, options: { ...options(seed), num_predict: 150 } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { message: { content: string; thinking?: string }; done_reason: string };
      expectValid(seed, body.message.content);
      expect(body.done_reason).toBe("stop");
    }
  });

  test("think false: no thought, the JSON from the first token", async () => {
    const response = await post(server.url, "/api/chat", { model: TINY, messages, format: PERSON, think: false, stream: false, options: options(3) });
    const body = (await response.json()) as { message: { content: string; thinking?: string } };
    expect(body.message.thinking).toBeUndefined();
    expectValid(3, body.message.content);
  });
});

describe("format json and bad formats", () => {
  test('format "json" on SmolLM2 gives a JSON object, through /api/generate and /v1 json_object', async () => {
    const response = await post(server.url, "/api/generate", {
      model: SMOL,
      prompt: "Give the name and age of a famous person as a JSON object.",
      format: "json",
      stream: false,
      options: { temperature: 0, num_predict: 200 },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { response: string; done_reason: string };
    expect(body.done_reason).toBe("stop");
    const value: unknown = JSON.parse(body.response);
    expect(typeof value === "object" && value !== null && !Array.isArray(value)).toBe(true);

    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "ollmlx" });
    const completion = await openai.chat.completions.create({
      model: SMOL,
      messages: [{ role: "user", content: "List three colors as a JSON object." }],
      seed: 7,
      max_tokens: 200,
      response_format: { type: "json_object" },
    });
    const parsed: unknown = JSON.parse(completion.choices[0]!.message.content ?? "");
    expect(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)).toBe(true);
  });

  test("an invalid JSON schema is a 400 naming the problem, before any model loads", async () => {
    const response = await post(server.url, "/api/chat", { model: TINY, messages, format: { type: "object", required: "name" } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string };
    expect(body.error).toStartWith("invalid JSON schema in format:");
    expect(body.error).toContain("required");
  });

  test("a schema the engine cannot enforce is a 400, and so is a format that is neither json nor a schema", async () => {
    const unsupported = await post(server.url, "/api/generate", { model: TINY, prompt: "x", format: { not: { type: "string" } } });
    expect(unsupported.status).toBe(400);
    expect(((await unsupported.json()) as { error: string }).error).toContain('"not" is not supported');
    for (const format of ["xml", 5, ["json"], true]) {
      const bad = await post(server.url, "/api/generate", { model: TINY, prompt: "x", format });
      expect({ format, status: bad.status }).toEqual({ format, status: 400 });
      const error = ((await bad.json()) as { error: string }).error;
      expect(error).toBe(`invalid format: ${JSON.stringify(JSON.stringify(format))}; expected "json" or a valid JSON Schema object`);
    }
  });

  test("/v1 response_format with an invalid schema is a 400; type text is unconstrained", async () => {
    const bad = await post(server.url, "/v1/chat/completions", {
      model: TINY,
      messages,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "nonsense" } } },
    });
    expect(bad.status).toBe(400);
    const text = await post(server.url, "/v1/chat/completions", { model: TINY, messages, max_tokens: 3, response_format: { type: "text" } });
    expect(text.status).toBe(200);
  });
});
