import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import {
  CapabilityError,
  ContextLengthError,
  InvalidRequestError,
  MESSAGES,
  ModelNotFoundError,
  RequestCanceledError,
  ServerBusyError,
  createdAt,
  elapsedNs,
  errorBody,
  monotonicNs,
  nowEpochNs,
  openAIErrorBody,
  rfc3339Nano,
  statusFor,
  unixSeconds,
} from "../../src/api/index.ts";
import * as S from "../../src/schemas/index.ts";

describe("created_at is Go's RFC3339Nano in UTC", () => {
  test("trailing zeros of the fraction are trimmed", () => {
    expect(rfc3339Nano(1_691_176_965_499_127_000n)).toBe("2023-08-04T19:22:45.499127Z");
    expect(rfc3339Nano(1_691_176_965_499_127_001n)).toBe("2023-08-04T19:22:45.499127001Z");
    expect(rfc3339Nano(1_691_176_965_100_000_000n)).toBe("2023-08-04T19:22:45.1Z");
  });
  test("a whole second has no fraction", () => {
    expect(rfc3339Nano(1_704_067_200_000_000_000n)).toBe("2024-01-01T00:00:00Z");
    expect(rfc3339Nano(new Date("2024-01-01T00:00:00.250Z"))).toBe("2024-01-01T00:00:00.25Z");
  });
  test("now is a parseable UTC timestamp", () => {
    const now = createdAt();
    expect(now).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    expect(Math.abs(unixSeconds(now) - Date.now() / 1000)).toBeLessThan(2);
  });
  test("created_at agrees with rfc3339Nano of the clock and never goes backwards across calls", () => {
    const epochNs = (s: string) => {
      const [, whole, fraction = ""] = /^(.*?)(?:\.(\d+))?Z$/.exec(s)!;
      return BigInt(Date.parse(`${whole}Z`)) * 1_000_000n + BigInt(fraction.padEnd(9, "0"));
    };
    let last = 0n;
    for (let i = 0; i < 2000; i++) {
      const before = nowEpochNs();
      const at = epochNs(createdAt());
      const after = nowEpochNs();
      expect(at >= last).toBe(true);
      // the same clock as the BigInt readings around it, but for sub-microsecond rounding
      expect(at - before).toBeGreaterThan(-1_000n);
      expect(after - at).toBeGreaterThan(-1_000n);
      last = at;
    }
  });
  test("durations are integer nanoseconds", () => {
    const start = monotonicNs();
    const ns = elapsedNs(start, start + 1_500_000n);
    expect(ns).toBe(1_500_000);
    expect(Number.isInteger(elapsedNs(start))).toBe(true);
  });
  test("unixSeconds reads nanosecond timestamps and offsets", () => {
    expect(unixSeconds("2024-07-22T20:47:51.147561123Z")).toBe(1721681271);
    expect(unixSeconds("2024-06-04T14:38:31.83753-07:00")).toBe(1717537111);
  });
});

describe("errors carry Ollama's status and text, mapped in one place", () => {
  const cases: [Error, number, string][] = [
    [new ModelNotFoundError("llama3"), 404, "model 'llama3' not found"],
    [new ModelNotFoundError(""), 404, "model '' not found"],
    [ModelNotFoundError.quoted("x"), 404, 'model "x" not found'],
    [ModelNotFoundError.whileScheduling("x"), 404, 'model "x" not found, try pulling it first'],
    [new InvalidRequestError(MESSAGES.topLogprobsRange), 400, "top_logprobs must be between 0 and 20"],
    [new CapabilityError("llama3:latest", ["tools"]), 400, "llama3:latest does not support tools"],
    [CapabilityError.quoted("llama3", "thinking"), 400, '"llama3" does not support thinking'],
    [new ServerBusyError(), 503, "server busy, please try again.  maximum pending requests exceeded"],
    [new RequestCanceledError(), 499, "request canceled"],
    [new ContextLengthError(5000, 4096), 400, "input length (5000 tokens) exceeds the model's maximum context length (4096 tokens)"],
    [new Error("boom"), 500, "boom"],
  ];
  for (const [error, status, message] of cases) {
    test(`${status} ${message}`, () => {
      expect(statusFor(error)).toBe(status);
      expect(errorBody(error)).toEqual({ error: message });
    });
  }
  test("the OpenAI envelope picks the type from the status", () => {
    expect(openAIErrorBody(new InvalidRequestError("bad")).error.type).toBe("invalid_request_error");
    expect(openAIErrorBody(new ModelNotFoundError("m")).error.type).toBe("not_found_error");
    expect(openAIErrorBody(new ServerBusyError())).toEqual({
      error: { message: "server busy, please try again.  maximum pending requests exceeded", type: "api_error", param: null, code: null },
    });
  });
});

test("the schemas render into the OpenAPI document", async () => {
  const app = new Elysia()
    .use(openapi({ path: "/swagger", specPath: "/openapi.json" }))
    .post("/api/chat", () => ({}) as S.ChatResponse, { body: S.ChatRequest, response: { 200: S.ChatResponse, 400: S.ErrorResponse } })
    .post("/api/generate", () => ({}) as S.GenerateResponse, { body: S.GenerateRequest })
    .post("/v1/chat/completions", () => ({}) as S.ChatCompletion, { body: S.ChatCompletionRequest, response: S.ChatCompletion });
  const res = await app.handle(new Request("http://localhost/openapi.json"));
  expect(res.status).toBe(200);
  const doc = (await res.json()) as { paths: Record<string, unknown> };
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/chat", "/api/generate", "/v1/chat/completions"]));
  expect(JSON.stringify(doc)).toContain("num_ctx");
});
