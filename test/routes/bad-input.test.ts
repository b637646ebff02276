// Bad input on every JSON route of a real server: Ollama's exact status and message (server/routes.go handlers,
// Go's encoding/json errors, middleware/openai.go on /v1), never a crash, and the server serves the next request.
// Per-route specifics already covered elsewhere (options types, format/images/raw, blob digests) stay there.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

type Route = [method: "POST" | "DELETE", path: string, goType: string];
const NATIVE: Route[] = [
  ["POST", "/api/generate", "GenerateRequest"],
  ["POST", "/api/chat", "ChatRequest"],
  ["POST", "/api/embed", "EmbedRequest"],
  ["POST", "/api/embeddings", "EmbeddingRequest"],
  ["POST", "/api/show", "ShowRequest"],
  ["POST", "/api/copy", "CopyRequest"],
  ["DELETE", "/api/delete", "DeleteRequest"],
  ["POST", "/api/create", "CreateRequest"],
  ["POST", "/api/pull", "PullRequest"],
  ["POST", "/api/push", "PushRequest"],
];
const OPENAI: Route[] = [
  ["POST", "/v1/chat/completions", "ChatCompletionRequest"],
  ["POST", "/v1/completions", "CompletionRequest"],
  ["POST", "/v1/embeddings", "EmbeddingRequest"],
];

function send(method: string, path: string, body?: RequestInit["body"]): Promise<Response> {
  return fetch(server.url + path, { method, body, headers: { "content-type": "application/json" } });
}

/** The error text of a native or /v1 error body, after checking the body has exactly that shape. */
async function errorOf(path: string, response: Response): Promise<string> {
  const body = (await response.json()) as { error: unknown };
  expect(Object.keys(body)).toEqual(["error"]);
  if (!path.startsWith("/v1/")) return body.error as string;
  const error = body.error as { message: string; type: string; param: null; code: null };
  expect(error).toEqual({ message: error.message, type: expect.any(String), param: null, code: null });
  return error.message;
}

async function expectServing(): Promise<void> {
  const version = await fetch(server.url + "/api/version");
  expect(version.status).toBe(200);
}

describe("bodies that are not a JSON object", () => {
  for (const [method, path] of [...NATIVE, ...OPENAI]) {
    test(`${method} ${path}: no body, truncated JSON and non-JSON are 400 with Go's decoder text`, async () => {
      const cases: [string, string][] = [
        ["", "missing request body"],
        ['{"model": "tiny', "unexpected EOF"],
        ["model=tiny", "invalid character 'm' looking for beginning of value"],
      ];
      for (const [body, message] of cases) {
        const response = await send(method, path, body);
        expect(response.status).toBe(400);
        expect(await errorOf(path, response)).toBe(message);
      }
      await expectServing();
    });
  }

  for (const [method, path, goType] of NATIVE) {
    test(`${path}: a JSON array or number is Go's "cannot unmarshal ... into Go value of type api.${goType}"`, async () => {
      for (const [body, kind] of [["[1]", "array"], ["42", "number"], ['"x"', "string"]]) {
        const response = await send(method, path, body);
        expect(response.status).toBe(400);
        expect(await errorOf(path, response)).toBe(`json: cannot unmarshal ${kind} into Go value of type api.${goType}`);
      }
    });
  }
});

describe("wrong types", () => {
  for (const [method, path, goType] of NATIVE.filter(([, p]) => p !== "/api/copy")) {
    test(`${path}: a number for model is Go's unmarshal error naming ${goType}.model`, async () => {
      const response = await send(method, path, JSON.stringify({ model: 5 }));
      expect(response.status).toBe(400);
      expect(await errorOf(path, response)).toBe(`json: cannot unmarshal number into Go struct field ${goType}.model of type string`);
    });
  }

  test("wrong types deeper in the body name the Go field path", async () => {
    const cases: [string, unknown, string][] = [
      ["/api/generate", { model: TINY, prompt: 5 }, "json: cannot unmarshal number into Go struct field GenerateRequest.prompt of type string"],
      ["/api/generate", { model: TINY, stream: "yes" }, "json: cannot unmarshal string into Go struct field GenerateRequest.stream of type bool"],
      ["/api/chat", { model: TINY, messages: "hi" }, "json: cannot unmarshal string into Go struct field ChatRequest.messages of type []api.Message"],
      ["/api/chat", { model: TINY, messages: [{ role: 5 }] }, "json: cannot unmarshal number into Go struct field Message.messages.role of type string"],
      ["/api/embed", { model: TINY, input: 5 }, "invalid input type"],
      ["/v1/completions", { model: TINY, prompt: 5 }, "json: cannot unmarshal number into Go struct field CompletionRequest.prompt of type string"],
    ];
    for (const [path, body, message] of cases) {
      const response = await post(server.url, path, body);
      expect(response.status).toBe(400);
      expect(await errorOf(path, response)).toBe(message);
    }
  });
});

describe("missing, empty and unknown models", () => {
  test("an empty or missing model: 404 model '' not found on generate/embed, 400 elsewhere, as Ollama", async () => {
    const cases: [string, string, number, string][] = [
      ["POST", "/api/generate", 404, "model '' not found"],
      ["POST", "/api/embed", 404, "model '' not found"],
      ["POST", "/api/chat", 400, "model is required"],
      ["POST", "/api/embeddings", 400, "model is required"],
      ["POST", "/api/show", 400, "model is required"],
      ["DELETE", "/api/delete", 400, "model is required"],
      ["POST", "/api/copy", 400, 'source "" is invalid'],
      ["POST", "/api/create", 400, "invalid model name"],
      ["POST", "/api/pull", 400, "invalid model name"],
    ];
    for (const [method, path, status, message] of cases) {
      for (const body of ["{}", '{"model": ""}', "null"]) {
        const response = await send(method, path, body);
        expect([path, body, response.status]).toEqual([path, body, status]);
        expect(await errorOf(path, response)).toBe(message);
      }
    }
  });

  test("on /v1 a missing model is checked after the middleware's own checks, then as the native route does", async () => {
    const user = [{ role: "user", content: "x" }];
    const cases: [string, unknown, number, string][] = [
      ["/v1/chat/completions", {}, 400, "[] is too short - 'messages'"],
      ["/v1/chat/completions", { messages: user }, 400, "model is required"],
      ["/v1/chat/completions", { model: null, messages: user }, 400, "model is required"],
      ["/v1/completions", {}, 404, "model '' not found"],
      ["/v1/embeddings", {}, 400, "invalid input"],
      ["/v1/embeddings", { input: "x" }, 404, "model '' not found"],
    ];
    for (const [path, body, status, message] of cases) {
      const response = await send("POST", path, JSON.stringify(body));
      expect([path, body, response.status]).toEqual([path, body, status]);
      expect(await errorOf(path, response)).toBe(message);
    }
  });

  test("an unknown model is 404 with each route's wording", async () => {
    const cases: [string, string, unknown, string][] = [
      ["POST", "/api/generate", { model: "ghost", prompt: "x" }, "model 'ghost' not found"],
      ["POST", "/api/chat", { model: "ghost", messages: [{ role: "user", content: "x" }] }, "model 'ghost' not found"],
      ["POST", "/api/show", { model: "ghost" }, "model 'ghost' not found"],
      ["DELETE", "/api/delete", { model: "ghost" }, "model 'ghost' not found"],
      ["POST", "/api/copy", { source: "ghost", destination: "other" }, 'model "ghost" not found'],
      ["POST", "/api/embed", { model: "ghost", input: "x" }, 'model "ghost" not found, try pulling it first'],
      ["POST", "/v1/chat/completions", { model: "ghost", messages: [{ role: "user", content: "x" }] }, "model 'ghost' not found"],
      ["POST", "/v1/completions", { model: "ghost", prompt: "x" }, "model 'ghost' not found"],
    ];
    for (const [method, path, body, message] of cases) {
      const response = await send(method, path, JSON.stringify(body));
      expect([path, response.status]).toEqual([path, 404]);
      expect(await errorOf(path, response)).toBe(message);
    }
  });

  test("an invalid model name is 400 invalid model name", async () => {
    const response = await post(server.url, "/api/generate", { model: "bad name!!", prompt: "x" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "invalid model name" });
  });
});

describe("keep_alive and think", () => {
  test("an invalid keep_alive is 400 with Go's duration error on every inference route", async () => {
    for (const path of ["/api/generate", "/api/chat", "/api/embed", "/api/embeddings"]) {
      const text = await post(server.url, path, { model: TINY, keep_alive: "abc" });
      expect(text.status).toBe(400);
      expect(await errorOf(path, text)).toBe('time: invalid duration "abc"');
      const unit = await post(server.url, path, { model: TINY, keep_alive: "5 minutes" });
      expect(await errorOf(path, unit)).toBe('time: unknown unit " minutes" in duration "5 minutes"');
      const bool = await post(server.url, path, { model: TINY, keep_alive: true });
      expect(bool.status).toBe(400);
      expect(await errorOf(path, bool)).toBe("Unsupported type: 'bool'");
    }
  });

  test("a keep_alive past int64 nanoseconds keeps the model forever, and /api/ps still answers (found by fuzzing)", async () => {
    const load = await post(server.url, "/api/generate", { model: TINY, keep_alive: 1e300 });
    expect(load.status).toBe(200);
    const ps = await fetch(server.url + "/api/ps");
    expect(ps.status).toBe(200);
    const { models } = (await ps.json()) as { models: { expires_at: string }[] };
    // forever is now + MaxInt64 ns, as Ollama shows it: some 292 years ahead
    expect(new Date(models[0]!.expires_at).getUTCFullYear()).toBeGreaterThan(new Date().getUTCFullYear() + 290);
  });

  test("an invalid think value is 400 with Ollama's message", async () => {
    for (const path of ["/api/generate", "/api/chat"]) {
      const level = await post(server.url, path, { model: TINY, think: "extreme" });
      expect(level.status).toBe(400);
      expect(await errorOf(path, level)).toBe('invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)');
      const number = await post(server.url, path, { model: TINY, think: 3 });
      expect(number.status).toBe(400);
      expect(await errorOf(path, number)).toBe('think must be a boolean or string ("high", "medium", "low", "max", true, or false)');
    }
  });
});

describe("unknown fields and huge bodies", () => {
  test("unknown fields and unknown options are ignored, as Go's decoder does", async () => {
    const extra = { bogus: { nested: [1, 2] }, "x-trace": "yes" };
    const generate = await post(server.url, "/api/generate", {
      model: TINY, prompt: "hi", stream: false, options: { num_predict: 2, not_an_option: 1 }, ...extra,
    });
    expect(generate.status).toBe(200);
    expect(((await generate.json()) as { eval_count: number }).eval_count).toBe(2);
    const chat = await post(server.url, "/api/chat", {
      model: TINY, messages: [{ role: "user", content: "hi", mood: "happy" }], stream: false, options: { num_predict: 2 }, ...extra,
    });
    expect(chat.status).toBe(200);
    const openai = await post(server.url, "/v1/chat/completions", {
      model: TINY, messages: [{ role: "user", content: "hi" }], max_tokens: 2, ...extra,
    });
    expect(openai.status).toBe(200);
  });

  test("a JSON body over 128 MiB is 413 with an error body, declared or streamed, and the server carries on", async () => {
    const declared = await send("POST", "/api/generate", new Uint8Array(129 * 1024 * 1024).fill(32));
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: "http: request body too large" });

    // chunked: no content-length, so the limit is enforced while reading
    const chunk = new Uint8Array(1024 * 1024).fill(32);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 140) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await send("POST", "/v1/chat/completions", stream);
    expect(streamed.status).toBe(413);
    expect(await errorOf("/v1/", streamed)).toBe("http: request body too large");
    expect(sent).toBeLessThan(141); // it stopped reading at the limit
    await expectServing();
  });

  test("after all of the above, the server still generates", async () => {
    const response = await post(server.url, "/api/generate", { model: TINY, prompt: "still here?", stream: false, options: { num_predict: 3 } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { done: boolean }).done).toBe(true);
  });
});
