// OpenAI Responses (/v1/responses) through the openai npm client against a real server and real MLX runners (the
// tiny random-weight Qwen3). Random weights never call a tool by themselves, so the function-call round trip forces
// the call with tool_choice; a schema with an enum lets a constrained answer finish within a few tokens.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { importThinkingOpenModel } from "./fixtures/tiny-variants.ts";
import { post, startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
let openai: OpenAI;
beforeAll(async () => {
  server = await startServer();
  await importThinkingOpenModel(server.store, "opener:latest");
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "ollmlx", maxRetries: 0 });
});
afterAll(() => server.close());

const WEATHER: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Current weather in a city",
  strict: true,
  // Enums keep a forced call short: random weights would otherwise write a string that never closes.
  parameters: {
    type: "object",
    properties: { city: { type: "string", enum: ["Paris", "London", "Tokyo"] }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
    required: ["city", "unit"],
  },
};
const ANSWER = {
  type: "json_schema" as const,
  name: "answer",
  schema: { type: "object", properties: { answer: { type: "string", enum: ["yes", "no"] } }, required: ["answer"], additionalProperties: false },
};

describe("OpenAI Responses", () => {
  test("responses.create: a message item, incomplete at max_output_tokens, usage; GET returns it", async () => {
    const response = await openai.responses.create({ model: TINY, input: "Say something", instructions: "Be brief.", max_output_tokens: 5, temperature: 0 });
    expect(response.id).toMatch(/^resp_[a-z0-9]{24}$/);
    expect(response).toMatchObject({ object: "response", model: TINY, status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
    expect(response.instructions).toBe("Be brief.");
    expect(response.output[0]!.type).toBe("message");
    expect(response.output_text.length).toBeGreaterThan(0);
    expect(response.usage!.output_tokens).toBe(5);
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + 5);
    const stored = await openai.responses.retrieve(response.id);
    expect(stored.output).toEqual(response.output);
  });

  test("text.format json_schema: completed, and the text parses and validates; streamed as typed events", async () => {
    const request = { model: TINY, input: "Is Paris in France?", max_output_tokens: 32, temperature: 0, text: { format: ANSWER } };
    const whole = await openai.responses.create(request);
    expect(whole.status).toBe("completed");
    expect(["yes", "no"]).toContain((JSON.parse(whole.output_text) as { answer: string }).answer);

    const stream = openai.responses.stream(request);
    const types: string[] = [];
    const sequence: number[] = [];
    let deltas = "";
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === "response.output_text.delta") deltas += event.delta;
    }
    const final = await stream.finalResponse();
    expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    expect(types).toContain("response.output_text.done");
    expect(types.at(-1)).toBe("response.completed");
    expect(sequence).toEqual(sequence.map((_, i) => i));
    expect(deltas).toBe(whole.output_text);
    expect(final.output_text).toBe(whole.output_text);
    expect((await openai.responses.retrieve(final.id)).status).toBe("completed");
  });

  test("previous_response_id continues the conversation: the same prompt as the whole history sent again", async () => {
    const first = await openai.responses.create({ model: TINY, input: "My name is Ada.", max_output_tokens: 3, temperature: 0 });
    const chained = await openai.responses.create({ model: TINY, previous_response_id: first.id, input: "What is my name?", max_output_tokens: 1 });
    expect(chained.previous_response_id).toBe(first.id);
    const resent = await openai.responses.create({
      model: TINY,
      max_output_tokens: 1,
      input: [
        { role: "user", content: "My name is Ada." },
        { role: "assistant", content: first.output_text },
        { role: "user", content: "What is my name?" },
      ],
    });
    expect(chained.usage!.input_tokens).toBe(resent.usage!.input_tokens);
    expect(chained.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens + 3);

    const unstored = await openai.responses.create({ model: TINY, input: "Forget me", max_output_tokens: 1, store: false });
    expect((unstored as unknown as { store: boolean }).store).toBe(false);
    expect(await openai.responses.retrieve(unstored.id).then(() => null, (e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    const orphan = await openai.responses.create({ model: TINY, previous_response_id: unstored.id, input: "Hi", max_output_tokens: 1 }).then(() => null, (e: unknown) => e);
    expect(orphan).toBeInstanceOf(OpenAI.BadRequestError);
    expect((orphan as InstanceType<typeof OpenAI.BadRequestError>).message).toContain(`Previous response with id '${unstored.id}' not found.`);
  });

  test("a function-call round trip: a forced function_call item (streamed as arguments deltas), its output → an answer", async () => {
    const request = { model: TINY, input: "What is the weather in Paris?", tools: [WEATHER], tool_choice: { type: "function" as const, name: "get_weather" }, max_output_tokens: 64, temperature: 0 };
    const first = await openai.responses.create(request);
    const call = first.output.find((item): item is OpenAI.Responses.ResponseFunctionToolCall => item.type === "function_call")!;
    expect(call.name).toBe("get_weather");
    expect(call.call_id).toMatch(/^call_/);
    expect(["Paris", "London", "Tokyo"]).toContain((JSON.parse(call.arguments) as { city: string }).city);

    const stream = openai.responses.stream({ ...request, tool_choice: "required" });
    let args = "";
    for await (const event of stream) if (event.type === "response.function_call_arguments.delta") args += event.delta;
    const streamed = (await stream.finalResponse()).output.find((item) => item.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(args).toBe(streamed.arguments);
    expect(JSON.parse(args)).toHaveProperty("unit");

    const answer = await openai.responses.create({
      model: TINY,
      previous_response_id: first.id,
      tools: [WEATHER],
      input: [{ type: "function_call_output", call_id: call.call_id, output: "18 degrees and sunny" }],
      max_output_tokens: 8,
    });
    expect(answer.output.some((item) => item.type === "message")).toBe(true);
    expect(answer.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
  });

  test("reasoning: a thinking model's thought is a reasoning item with a summary, streamed as summary deltas", async () => {
    const request = { model: "opener", input: "Think first.", reasoning: { effort: "low" as const }, max_output_tokens: 5, temperature: 0 };
    const whole = await openai.responses.create(request);
    const reasoning = whole.output[0] as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.type).toBe("reasoning");
    expect(reasoning.summary[0]!.text.length).toBeGreaterThan(0);

    const stream = openai.responses.stream(request);
    let summary = "";
    for await (const event of stream) if (event.type === "response.reasoning_summary_text.delta") summary += event.delta;
    const final = await stream.finalResponse();
    expect(summary).toBe(reasoning.summary[0]!.text);
    expect((final.output[0] as OpenAI.Responses.ResponseReasoningItem).summary).toEqual(reasoning.summary);
  });

  test("errors use OpenAI's envelope with the right statuses", async () => {
    const missing = await openai.responses.create({ model: "ghost", input: "hi" }).then(() => null, (e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    const r = await post(server.url, "/v1/responses", { model: TINY, input: 42 });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    const image = await post(server.url, "/v1/responses", { model: TINY, input: [{ role: "user", content: [{ type: "input_image", image_url: "data:image/png;base64,AA==" }] }] });
    expect(image.status).toBe(400);
    expect(((await image.json()) as { error: { message: string } }).error.message).toContain("input_image");
    const streamed = await post(server.url, "/v1/responses", { model: TINY, input: "hi", stream: true, tool_choice: "required" });
    expect(streamed.status).toBe(400);
    expect(await openai.responses.retrieve("resp_nothing").then(() => null, (e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
