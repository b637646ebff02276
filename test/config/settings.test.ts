// Every setting as src/config/settings.ts declares it: Go's trimming, each parser's defaults and refusals, and the
// README's table generated from the declarations.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { envVar } from "../../src/config/env.ts";
import {
  HF_ENDPOINT,
  OLLAMA_CONTEXT_LENGTH,
  OLLAMA_HOST,
  OLLAMA_KEEP_ALIVE,
  OLLAMA_MAX_LOADED_MODELS,
  OLLAMA_MAX_TRANSFER_STREAMS,
  OLLAMA_NOHISTORY,
  OLLAMA_ORIGINS,
  OLLMLX_CPU_ACTIVATIONS,
  OLLMLX_CPU_DEQUANTIZE,
  OLLMLX_CPU_KERNELS,
  OLLMLX_CPU_THREADS,
  OLLMLX_MODELS,
  OLLMLX_PREFIX_CACHE_BYTES,
  OLLMLX_PULL_RETRIES,
  OLLMLX_PULL_STALL_TIMEOUT,
  SETTINGS,
} from "../../src/config/settings.ts";
import { README_END, README_START, envTable, replaceEnvTable } from "../../scripts/env-table.ts";

describe("envVar reads a variable as Ollama's envconfig.Var does", () => {
  test("whitespace, then every surrounding quote, is trimmed", () => {
    expect(envVar({ X: ` "'5m'" ` }, "X")).toBe("5m");
    expect(envVar({ X: `"a b"` }, "X")).toBe("a b");
    expect(envVar({}, "X")).toBe("");
  });
});

describe("the server's settings", () => {
  test("OLLAMA_HOST: [scheme://]host[:port], 127.0.0.1:11434 when unset", () => {
    expect(OLLAMA_HOST.read({})).toEqual({ scheme: "http", host: "127.0.0.1", port: 11434 });
    expect(OLLAMA_HOST.read({ OLLAMA_HOST: "'0.0.0.0:8080'" })).toEqual({ scheme: "http", host: "0.0.0.0", port: 8080 });
    expect(OLLAMA_HOST.read({ OLLAMA_HOST: "https://[::1]" })).toEqual({ scheme: "https", host: "::1", port: 443 });
    expect(() => OLLAMA_HOST.read({ OLLAMA_HOST: "host:99999" })).toThrow("OLLAMA_HOST has an invalid port");
  });
  test("OLLAMA_KEEP_ALIVE: a duration or integer seconds, negative is forever, garbage is 5m", () => {
    const keepAlive = (v?: string) => OLLAMA_KEEP_ALIVE.read({ OLLAMA_KEEP_ALIVE: v });
    expect([keepAlive(), keepAlive("10m"), keepAlive("3600"), keepAlive("-1"), keepAlive(' "1h" '), keepAlive("soon")]).toEqual([
      300_000, 600_000, 3_600_000, Infinity, 3_600_000, 300_000,
    ]);
  });
  test("counts: a positive integer, else the default", () => {
    const loaded = (v?: string) => OLLAMA_MAX_LOADED_MODELS.read({ OLLAMA_MAX_LOADED_MODELS: v });
    expect([loaded(), loaded("5"), loaded("0"), loaded("-2"), loaded("1.5"), loaded("x")]).toEqual([3, 5, 3, 3, 3, 3]);
    const streams = (v?: string) => OLLAMA_MAX_TRANSFER_STREAMS.read({ OLLAMA_MAX_TRANSFER_STREAMS: v });
    expect([streams(), streams("8"), streams("0")]).toEqual([4, 8, 4]);
  });
  test("OLLAMA_CONTEXT_LENGTH: a positive integer, else 4096", () => {
    const ctx = (v?: string) => OLLAMA_CONTEXT_LENGTH.read({ OLLAMA_CONTEXT_LENGTH: v });
    expect([ctx(), ctx("8192"), ctx("0"), ctx("-1"), ctx("big")]).toEqual([4096, 8192, 4096, 4096, 4096]);
  });
  test("OLLAMA_ORIGINS: a comma-separated list", () => {
    expect(OLLAMA_ORIGINS.read({})).toEqual([]);
    expect(OLLAMA_ORIGINS.read({ OLLAMA_ORIGINS: "'http://a.test, app://*'" })).toEqual(["http://a.test", "app://*"]);
  });
  test("booleans as envconfig.Bool: set and not false is true", () => {
    const noHistory = (v?: string) => OLLAMA_NOHISTORY.read({ OLLAMA_NOHISTORY: v });
    expect([noHistory(), noHistory("1"), noHistory("true"), noHistory("yes"), noHistory("0"), noHistory("false"), noHistory("'F'")]).toEqual([
      false, true, true, true, false, false, false,
    ]);
  });
});

describe("the store's and pulls' settings", () => {
  test("OLLMLX_MODELS, else Ollama's OLLAMA_MODELS, else ~/.ollmlx/models", () => {
    expect(OLLMLX_MODELS.read({ OLLMLX_MODELS: "/a", OLLAMA_MODELS: "/b" })).toBe("/a");
    expect(OLLMLX_MODELS.read({ OLLAMA_MODELS: "/b" })).toBe("/b");
    expect(OLLMLX_MODELS.read({})).toEndWith(join(".ollmlx", "models"));
  });
  test("HF_ENDPOINT: unset is undefined (store/hf.ts supplies the Hub)", () => {
    expect(HF_ENDPOINT.read({})).toBeUndefined();
    expect(HF_ENDPOINT.read({ HF_ENDPOINT: "http://127.0.0.1:9/" })).toBe("http://127.0.0.1:9/");
  });
  test("OLLMLX_PULL_STALL_TIMEOUT takes a Go duration or seconds (default 30s); OLLMLX_PULL_RETRIES a count (default 3)", () => {
    const stall = (v?: string) => OLLMLX_PULL_STALL_TIMEOUT.read({ OLLMLX_PULL_STALL_TIMEOUT: v });
    expect([stall(), stall("2m"), stall("1.5"), stall("250ms"), stall("0"), stall("soon")]).toEqual([30_000, 120_000, 1_500, 250, 30_000, 30_000]);
    const retries = (v?: string) => OLLMLX_PULL_RETRIES.read({ OLLMLX_PULL_RETRIES: v });
    expect([retries(), retries("0"), retries("6"), retries("-1"), retries("many")]).toEqual([3, 0, 6, 3, 3]);
  });
});

describe("the runner's settings", () => {
  test("OLLMLX_CPU_KERNELS: shim (the default) is the best set, a set by name forces it, anything else is an error", () => {
    const kernels = (v?: string) => OLLMLX_CPU_KERNELS.read({ OLLMLX_CPU_KERNELS: v });
    expect(kernels()).toBe("best");
    expect(kernels(" Shim ")).toBe("best");
    expect(kernels("mlx")).toBe("mlx");
    for (const set of ["baseline", "avx2", "avx512", "avx512_vnni"] as const) expect(kernels(set)).toBe(set);
    expect(() => kernels("fast")).toThrow('OLLMLX_CPU_KERNELS must be "shim", "mlx" or one of baseline, avx2, avx512, avx512_vnni, not "fast"');
  });
  test("OLLMLX_CPU_ACTIVATIONS: float (the default), auto (per layer: GGUF's), int8; anything else is an error", () => {
    const act = (v?: string) => OLLMLX_CPU_ACTIVATIONS.read({ OLLMLX_CPU_ACTIVATIONS: v });
    expect(act()).toBe("float");
    expect(act("AUTO")).toBe("per-layer");
    expect(act("float")).toBe("float");
    expect(act("int8")).toBe("int8");
    expect(() => act("fp16")).toThrow('OLLMLX_CPU_ACTIVATIONS must be "auto", "float" or "int8", not "fp16"');
  });
  test("OLLMLX_CPU_THREADS: a positive integer or unset", () => {
    expect(OLLMLX_CPU_THREADS.read({})).toBeUndefined();
    expect(OLLMLX_CPU_THREADS.read({ OLLMLX_CPU_THREADS: "2" })).toBe(2);
    for (const bad of ["0", "-1", "1.5", "two"]) expect(() => OLLMLX_CPU_THREADS.read({ OLLMLX_CPU_THREADS: bad })).toThrow("OLLMLX_CPU_THREADS must be a positive integer");
  });
  test("OLLMLX_CPU_DEQUANTIZE: 1 forces, 0 forbids, anything else is auto", () => {
    const dequantize = (v?: string) => OLLMLX_CPU_DEQUANTIZE.read({ OLLMLX_CPU_DEQUANTIZE: v });
    expect([dequantize("1"), dequantize("0"), dequantize(), dequantize("maybe")]).toEqual([true, false, "auto", "auto"]);
  });
  test("OLLMLX_PREFIX_CACHE_BYTES takes bytes or units, 0 turns the cache off, and a bad value is an error", () => {
    const bytes = (v?: string) => OLLMLX_PREFIX_CACHE_BYTES.read({ OLLMLX_PREFIX_CACHE_BYTES: v });
    expect([bytes("512MiB"), bytes("2GB"), bytes("1000"), bytes("0")]).toEqual([512 * 1024 * 1024, 2e9, 1000, 0]);
    expect(bytes()).toBeGreaterThan(0);
    expect(bytes()).toBeLessThanOrEqual(2 * 1024 ** 3);
    expect(() => bytes("lots")).toThrow(/OLLMLX_PREFIX_CACHE_BYTES/);
  });
});

describe("the declarations document themselves", () => {
  test("every setting has a unique name, a default and a doc line", () => {
    const names = SETTINGS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of SETTINGS) {
      expect(s.name).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(s.default).not.toBe("");
      expect(s.doc).not.toBe("");
    }
  });
  test("the README's environment table is the one scripts/env-table.ts generates (run it with --write)", () => {
    const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
    expect(readme).toContain(README_START);
    expect(readme).toContain(README_END);
    expect(replaceEnvTable(readme)).toBe(readme);
    for (const s of SETTINGS) expect(envTable().includes(`\`${s.name}\``)).toBe(!s.internal);
  });
});
