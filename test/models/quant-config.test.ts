// config.json's quantization block as mlx-lm's loader reads it: the top level applies to every quantized layer without
// an entry of its own; a layer's own entry is handed to to_quantized(**entry) alone, so what it leaves out takes that
// call's defaults (mode "affine" and the mode's group size and bits), not the top level's.
import { describe, expect, test } from "bun:test";
import { parseQuantConfig } from "../../src/models/weights.ts";

describe("quantization block", () => {
  test("gpt-oss's 8-bit router in an mxfp4 model is affine, group 64", () => {
    const q = parseQuantConfig({ quantization: { group_size: 32, bits: 4, mode: "mxfp4", "model.layers.0.mlp.router": { group_size: 64, bits: 8 } } })!;
    expect(q.defaults).toEqual({ mode: "mxfp4", groupSize: 32, bits: 4 });
    expect(q.overrides.get("model.layers.0.mlp.router")).toEqual({ mode: "affine", groupSize: 64, bits: 8 });
  });

  test("an entry naming only its mode gets that mode's defaults; true takes the top level's; false is unquantized", () => {
    const q = parseQuantConfig({ quantization: { group_size: 64, bits: 4, a: { mode: "mxfp4" }, b: true, c: false } })!;
    expect(q.overrides.get("a")).toEqual({ mode: "mxfp4", groupSize: 32, bits: 4 });
    expect(q.overrides.get("b")).toEqual({ mode: "affine", groupSize: 64, bits: 4 });
    expect(q.overrides.get("c")).toBe(false);
  });
});
