import { describe, expect, test } from "bun:test";
import {
  DEFAULT_KEEP_ALIVE_MS,
  InvalidRequestError,
  formatGoDuration,
  keepAliveToJSON,
  parseGoDuration,
  parseKeepAlive,
  resolveKeepAlive,
} from "../../src/api/index.ts";

describe("parseGoDuration matches Go's time.ParseDuration", () => {
  const cases: [string, bigint][] = [
    ["0", 0n],
    ["-0", 0n],
    ["5m", 300_000_000_000n],
    ["1h30m", 5_400_000_000_000n],
    ["300ms", 300_000_000n],
    ["1.5h", 5_400_000_000_000n],
    [".5s", 500_000_000n],
    ["5.s", 5_000_000_000n],
    ["+2s", 2_000_000_000n],
    ["-1m", -60_000_000_000n],
    ["1h2m3s4ms5us6ns", 3_723_004_005_006n],
    ["2\u00b5s", 2_000n],
    ["2\u03bcs", 2_000n],
    ["1.0000000001s", 1_000_000_000n],
  ];
  for (const [input, ns] of cases) test(`${JSON.stringify(input)} is ${ns}ns`, () => expect(parseGoDuration(input)).toBe(ns));

  const errors: [string, string][] = [
    ["", 'time: invalid duration ""'],
    ["abc", 'time: invalid duration "abc"'],
    [".s", 'time: invalid duration ".s"'],
    ["-", 'time: invalid duration "-"'],
    ["300", 'time: missing unit in duration "300"'],
    ["1d", 'time: unknown unit "d" in duration "1d"'],
    ["10000000h", 'time: invalid duration "10000000h"'],
  ];
  for (const [input, message] of errors) {
    test(`${JSON.stringify(input)} fails with ${message}`, () => expect(() => parseGoDuration(input)).toThrow(message));
  }
});

describe("parseKeepAlive reads keep_alive like api.Duration", () => {
  test("a number is seconds", () => expect(parseKeepAlive(300)).toBe(300_000));
  test("a fractional number keeps its milliseconds", () => expect(parseKeepAlive(1.5)).toBe(1500));
  test("a Go duration string", () => expect(parseKeepAlive("1h30m")).toBe(5_400_000));
  test("0 and \"0\" unload now", () => {
    expect(parseKeepAlive(0)).toBe(0);
    expect(parseKeepAlive("0")).toBe(0);
    expect(parseKeepAlive("0s")).toBe(0);
  });
  test("negative numbers and durations mean forever", () => {
    expect(parseKeepAlive(-1)).toBe(Infinity);
    expect(parseKeepAlive("-1m")).toBe(Infinity);
  });
  test("unset is undefined, so the model's current keep_alive stays", () => {
    expect(parseKeepAlive(undefined)).toBeUndefined();
    expect(parseKeepAlive(null)).toBeUndefined();
    expect(resolveKeepAlive(undefined, 42, DEFAULT_KEEP_ALIVE_MS)).toBe(42);
    expect(resolveKeepAlive(undefined, undefined, 7)).toBe(7);
    expect(resolveKeepAlive("1s", 42, DEFAULT_KEEP_ALIVE_MS)).toBe(1000);
  });
  test("an invalid string is a 400 with Go's message", () => {
    const error = (() => {
      try {
        parseKeepAlive("5 minutes");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).status).toBe(400);
    expect((error as Error).message).toBe('time: unknown unit " minutes" in duration "5 minutes"');
  });
  test("other JSON types are Unsupported type", () => {
    expect(() => parseKeepAlive(true)).toThrow("Unsupported type: 'bool'");
    expect(() => parseKeepAlive([])).toThrow("Unsupported type: '[]interface {}'");
    expect(() => parseKeepAlive({})).toThrow("Unsupported type: 'map[string]interface {}'");
  });
});

describe("keep_alive marshals back like Go", () => {
  test("Duration.String forms", () => {
    expect(formatGoDuration(300_000_000_000n)).toBe("5m0s");
    expect(formatGoDuration(5_400_000_000_000n)).toBe("1h30m0s");
    expect(formatGoDuration(1_500_000_000n)).toBe("1.5s");
    expect(formatGoDuration(300_000_000n)).toBe("300ms");
    expect(formatGoDuration(1_500n)).toBe("1.5\u00b5s");
    expect(formatGoDuration(0n)).toBe("0s");
    expect(formatGoDuration(-60_000_000_000n)).toBe("-1m0s");
  });
  test("forever is -1", () => {
    expect(keepAliveToJSON(Infinity)).toBe(-1);
    expect(keepAliveToJSON(300_000)).toBe("5m0s");
  });
});
