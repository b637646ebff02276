// Which service a model name is pulled from.
import { describe, expect, test } from "bun:test";
import { InsecureProtocolError, resolvePullSource } from "../../src/store/pull.ts";
import { InvalidModelNameError } from "../../src/store/names.ts";

const env = {};

describe("pull name routing", () => {
  test("hf.co and huggingface.co names are Hugging Face repos; the tag stays the tag", () => {
    expect(resolvePullSource("hf.co/bartowski/Llama-3.2-1B-GGUF:Q4_K_M", { env })).toMatchObject({
      kind: "hf",
      endpoint: "https://huggingface.co",
      repo: "bartowski/Llama-3.2-1B-GGUF",
      name: { host: "hf.co", namespace: "bartowski", model: "Llama-3.2-1B-GGUF", tag: "Q4_K_M" },
    });
    expect(resolvePullSource("huggingface.co/mlx-community/Qwen3-0.6B-4bit", { env })).toMatchObject({ kind: "hf", repo: "mlx-community/Qwen3-0.6B-4bit" });
  });

  test("a bare <org>/<repo> of an MLX publisher is a Hugging Face repo, case-insensitively", () => {
    expect(resolvePullSource("mlx-community/Llama-3.2-1B-Instruct-4bit", { env })).toMatchObject({ kind: "hf", repo: "mlx-community/Llama-3.2-1B-Instruct-4bit" });
    expect(resolvePullSource("LMStudio-Community/Foo", { env })).toMatchObject({ kind: "hf", repo: "LMStudio-Community/Foo" });
  });

  test("everything else is the Ollama registry named by the host, https unless insecure", () => {
    expect(resolvePullSource("llama3.2", { env })).toEqual({ kind: "registry", base: "https://registry.ollama.ai", name: { host: "registry.ollama.ai", namespace: "library", model: "llama3.2", tag: "latest" } });
    expect(resolvePullSource("someone/model:7b", { env })).toMatchObject({ kind: "registry", base: "https://registry.ollama.ai" });
    expect(resolvePullSource("localhost:5000/team/model", { env, insecure: true })).toMatchObject({ kind: "registry", base: "http://localhost:5000" });
    expect(resolvePullSource("https://example.com/team/model", { env })).toMatchObject({ kind: "registry", base: "https://example.com" });
  });

  test("HF_ENDPOINT moves the Hub; http:// needs insecure; bad names are refused", () => {
    expect(resolvePullSource("hf.co/a/b", { env: { HF_ENDPOINT: "http://mirror.local:8080/" } })).toMatchObject({ endpoint: "http://mirror.local:8080" });
    expect(() => resolvePullSource("http://example.com/team/model", { env })).toThrow(InsecureProtocolError);
    expect(() => resolvePullSource("a/b/c/d", { env })).toThrow(InvalidModelNameError);
  });
});
