// sentence-transformers directories: modules.json and 1_Pooling/config.json to a pooling mode, or a clear refusal.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { poolingFromConfig, readSentenceTransformers } from "../../src/formats/sentence-transformers.ts";
import { layerFilePath, Store } from "../../src/store/store.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function stDir(modules: unknown[] | null, pooling?: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "ollmlx-st-"));
  dirs.push(dir);
  if (modules) writeFileSync(join(dir, "modules.json"), JSON.stringify(modules));
  if (pooling) {
    mkdirSync(join(dir, "1_Pooling"));
    writeFileSync(join(dir, "1_Pooling", "config.json"), JSON.stringify(pooling));
  }
  return dir;
}

const T = (type: string, path = "") => ({ idx: 0, name: type, path, type: `sentence_transformers.models.${type}` });

describe("sentence-transformers", () => {
  test("Transformer → Pooling(cls) → Normalize", () => {
    const dir = stDir([T("Transformer"), T("Pooling", "1_Pooling"), T("Normalize", "2_Normalize")], { pooling_mode_cls_token: true });
    expect(readSentenceTransformers(dir)).toEqual({ pooling: "cls", normalize: true, maxSeqLength: null, dense: [] });
  });

  test("no modules.json: mean pooling, as sentence-transformers wraps a plain encoder", () => {
    expect(readSentenceTransformers(stDir(null)).pooling).toBe("mean");
  });

  test("modes: mean, cls, lasttoken; max, sqrt-len, several at once and none are refused", () => {
    expect(poolingFromConfig({ pooling_mode_mean_tokens: true })).toBe("mean");
    expect(poolingFromConfig({ pooling_mode_lasttoken: true })).toBe("last");
    expect(() => poolingFromConfig({ pooling_mode_max_tokens: true })).toThrow("not supported");
    expect(() => poolingFromConfig({ pooling_mode_mean_tokens: true, pooling_mode_cls_token: true })).toThrow("not supported");
    expect(() => poolingFromConfig({})).toThrow("not supported");
  });

  test("Dense modules in order, with their activations (sentence-transformers' default is Tanh); others are refused", () => {
    const dir = stDir([T("Transformer"), T("Pooling", "1_Pooling"), T("Dense", "2_Dense"), T("Dense", "3_Dense"), T("Normalize", "4_Normalize")], { pooling_mode_mean_tokens: true });
    mkdirSync(join(dir, "2_Dense"));
    writeFileSync(join(dir, "2_Dense", "config.json"), JSON.stringify({ in_features: 8, out_features: 32, bias: false, activation_function: "torch.nn.modules.linear.Identity" }));
    mkdirSync(join(dir, "3_Dense"));
    writeFileSync(join(dir, "3_Dense", "config.json"), JSON.stringify({ in_features: 32, out_features: 8, bias: true }));
    expect(readSentenceTransformers(dir).dense).toEqual([
      { path: "2_Dense", activation: "identity" },
      { path: "3_Dense", activation: "tanh" },
    ]);
    writeFileSync(join(dir, "3_Dense", "config.json"), JSON.stringify({ in_features: 32, out_features: 8, activation_function: "torch.nn.modules.activation.ReLU" }));
    expect(() => readSentenceTransformers(dir)).toThrow("3_Dense: activation torch.nn.modules.activation.ReLU is not supported");
    rmSync(join(dir, "3_Dense"), { recursive: true });
    expect(() => readSentenceTransformers(dir)).toThrow("modules.json names 3_Dense but it has no config.json");
  });

  test("a module the pipeline cannot run is a load error naming it", () => {
    const dir = stDir([T("Transformer"), T("Pooling", "1_Pooling"), T("LayerNorm", "2_LayerNorm")], { pooling_mode_mean_tokens: true });
    expect(() => readSentenceTransformers(dir)).toThrow("sentence_transformers.models.LayerNorm is not supported yet");
  });

  test("importing a directory keeps the module folders' files and leaves other folders out", async () => {
    const dir = stDir([T("Transformer"), T("Pooling", "1_Pooling")], { pooling_mode_mean_tokens: true });
    writeFileSync(join(dir, "config.json"), "{}");
    mkdirSync(join(dir, "onnx"));
    writeFileSync(join(dir, "onnx", "model.onnx"), "not for us");
    const root = mkdtempSync(join(tmpdir(), "ollmlx-st-store-"));
    dirs.push(root);
    const m = await new Store(root).importMlxDir("st-test", dir, { model_format: "safetensors", model_family: "bert", model_families: [], model_type: "", file_type: "" });
    expect(m.manifest.layers.map((l) => l.name).sort()).toEqual(["1_Pooling/config.json", "config.json", "modules.json"]);
  });

  test("a stored layer's file keeps one folder, and never climbs out of the model's directory", () => {
    expect(layerFilePath("1_Pooling/config.json")).toBe("1_Pooling/config.json");
    expect(layerFilePath("config.json")).toBe("config.json");
    expect(layerFilePath("../../etc/passwd")).toBe("passwd");
    expect(layerFilePath("/abs/x.json")).toBe("x.json");
    expect(layerFilePath("a/./b.json")).toBe("b.json");
    expect(layerFilePath("a/b/c.json")).toBe("c.json");
  });
});
