import { describe, expect, test } from "bun:test";
import { InvalidRequestError, applyOptions, defaultOptions, resolveOptions } from "../../src/api/index.ts";
import { OPTION_KINDS, Options } from "../../src/schemas/index.ts";

const quiet = () => {};

describe("defaults are Ollama's DefaultOptions", () => {
  test("sampling defaults", () => {
    const o = defaultOptions({});
    expect(o).toMatchObject({
      temperature: 0.8,
      top_k: 40,
      top_p: 0.9,
      min_p: 0,
      typical_p: 1,
      repeat_penalty: 1.0,
      repeat_last_n: 64,
      presence_penalty: 0,
      frequency_penalty: 0,
      num_predict: -1,
      num_keep: 4,
      seed: -1,
      stop: [],
      num_batch: 512,
      num_gpu: -1,
      num_thread: 0,
      draft_num_predict: 4,
    });
    expect(o.use_mmap).toBeUndefined();
    expect(o.main_gpu).toBeUndefined();
  });
  test("num_ctx is 4096 unless OLLAMA_CONTEXT_LENGTH is set", () => {
    expect(defaultOptions({}).num_ctx).toBe(4096);
    expect(defaultOptions({ OLLAMA_CONTEXT_LENGTH: "8192" }).num_ctx).toBe(8192);
    expect(defaultOptions({ OLLAMA_CONTEXT_LENGTH: "lots" }).num_ctx).toBe(4096);
  });
});

describe("merge: request over model parameters over defaults", () => {
  test("each layer overrides the one below, key by key", () => {
    const o = resolveOptions({
      env: {},
      model: { temperature: 0.2, stop: ["<|im_end|>"], num_ctx: 8192 },
      request: { temperature: 0.5, top_k: 10 },
    });
    expect(o.temperature).toBe(0.5);
    expect(o.top_k).toBe(10);
    expect(o.stop).toEqual(["<|im_end|>"]);
    expect(o.num_ctx).toBe(8192);
    expect(o.top_p).toBe(0.9);
  });
  test("null values are skipped, keeping the lower layer", () => {
    expect(resolveOptions({ env: {}, model: { seed: 7 }, request: { seed: null } }).seed).toBe(7);
  });
  test("a float into an int option is truncated like Go's int64(float64)", () => {
    const o = resolveOptions({ env: {}, request: { num_ctx: 2048.9, num_predict: -1.5 } });
    expect(o.num_ctx).toBe(2048);
    expect(o.num_predict).toBe(-1);
  });
  test("pointer options can be set", () => {
    const o = resolveOptions({ env: {}, request: { use_mmap: false, main_gpu: 1 } });
    expect(o.use_mmap).toBe(false);
    expect(o.main_gpu).toBe(1);
  });
  test("unknown options are ignored with Ollama's warning", () => {
    const warnings: string[] = [];
    const o = resolveOptions({
      env: {},
      request: { mirostat: 2, penalize_newline: true, temperature: 0.1 },
      warn: (message, option) => warnings.push(`${message} ${option}`),
    });
    expect(o.temperature).toBe(0.1);
    expect(warnings).toEqual(["invalid option provided mirostat", "invalid option provided penalize_newline"]);
    expect("mirostat" in o).toBe(false);
  });
});

describe("wrong option types are a 400 with Options.FromMap's message", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ top_k: "40" }, 'option "top_k" must be of type integer'],
    [{ temperature: "hot" }, 'option "temperature" must be of type float32'],
    [{ use_mmap: 1 }, 'option "use_mmap" must be of type boolean'],
    [{ main_gpu: true }, 'option "main_gpu" must be of type integer'],
    [{ stop: "\n" }, 'option "stop" must be of type array'],
    [{ stop: ["a", 1] }, 'option "stop" must be of an array of strings'],
  ];
  for (const [layer, message] of cases) {
    test(message, () => {
      let caught: unknown;
      try {
        applyOptions(defaultOptions({}), layer, quiet);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvalidRequestError);
      expect((caught as Error).message).toBe(message);
    });
  }
});

test("the options schema lists exactly the options Ollama honours", () => {
  expect(Object.keys(Options.properties).sort()).toEqual(Object.keys(OPTION_KINDS).sort());
});
