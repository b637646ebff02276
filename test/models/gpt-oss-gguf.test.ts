// gpt-oss in llama.cpp's GGUF form with its experts as MXFP4 blocks (ggml type 39): the tiny mxfp4 fixture (experts
// in MLX's mxfp4 mode, the rest float32) written by make_tiny_gguf.py with the same codes and scale bytes. The repack
// must land on MLX's mxfp4 exactly: each expert tensor dequantizes to ggml's own values, and the model gives mlx-lm's
// logits for the directory bit for bit. (architectures.test.ts covers the float32 gpt-oss GGUF.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as mx from "../../src/ffi/index.ts";
import { readGguf, readTensorBytes } from "../../src/formats/gguf/file.ts";
import { dequantMxfp4, repackMxfp4 } from "../../src/formats/gguf/mxfp4.ts";
import { mlxShape } from "../../src/formats/gguf/repack.ts";
import { loadGgufWeights } from "../../src/formats/gguf/to-mlx.ts";
import { build } from "../../src/models/load.ts";
import { cachedOutput } from "../fixtures/cached.ts";
import { greedy, logitsOf } from "../fixtures/reference-runs.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";
import { oraclePath } from "../oracle.ts";

const fixture = (await listTinyModels()).find((m) => m.name === "gpt-oss-mxfp4")!;
const gguf = () => cachedOutput("tiny-gguf", "make_tiny_gguf.py", [fixture.dir], `${fixture.name}.gguf`, [oraclePath()], ["make_tiny_models.py"]);
beforeAll(() => mx.cpuKernels({ use: "mlx" }));
afterAll(() => mx.cpuKernels({ use: "best" }));

describe("MXFP4 blocks", () => {
  test("a hand-made block: element j from the low nibble of byte j, j + 16 from its high nibble, value E2M1 · 2^(e-127)", () => {
    // scale byte 128 (x2), codes: element j = j % 16 for j < 16, element j + 16 = 15 - j
    const block = new Uint8Array(17);
    block[0] = 128;
    for (let j = 0; j < 16; j++) block[1 + j] = j | ((15 - j) << 4);
    const info = { name: "t", type: 39, dims: [32, 1], offset: 0, nbytes: 17 };
    const r = repackMxfp4(info, block, [1, 32]);
    expect(Array.from(r.scales)).toEqual([128]);
    const values = mx.scope(() =>
      mx.dequantize(mx.fromBytes(new Uint8Array(r.weight.buffer), [1, 4], "uint32"), mx.fromBytes(r.scales, [1, 1], "uint8"), null, { groupSize: 32, bits: 4, mode: "mxfp4", dtype: "float32" }).toFloat32(),
    );
    const e2m1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, 0, -0.5, -1, -1.5, -2, -3, -4, -6];
    const want = [...Array.from({ length: 16 }, (_, j) => 2 * e2m1[j]!), ...Array.from({ length: 16 }, (_, j) => 2 * e2m1[15 - j]!)];
    // MLX decodes code 8 as -0, ggml as +0: the same number (+ 0 folds the sign of zero)
    expect(Array.from(values, (v) => v + 0)).toEqual(want);
    expect(Array.from(dequantMxfp4(block), (v) => v + 0)).toEqual(want);
  });

  test("every expert tensor of the tiny GGUF dequantizes in MLX's mxfp4 mode to ggml's values", () => {
    const file = readGguf(gguf());
    const experts = file.tensors.filter((t) => t.type === 39);
    expect(experts.length).toBe(6); // gate, up, down in each of the 2 layers
    for (const t of experts) {
      const bytes = readTensorBytes(file, t);
      const r = repackMxfp4(t, bytes, mlxShape(t));
      const [rows, cols] = [r.shape.slice(0, -1), r.shape[r.shape.length - 1]!];
      const ours = mx.scope(() =>
        mx
          .dequantize(mx.fromBytes(new Uint8Array(r.weight.buffer), [...rows, cols / 8], "uint32"), mx.fromBytes(r.scales, [...rows, cols / 32], "uint8"), null, {
            groupSize: 32,
            bits: 4,
            mode: "mxfp4",
            dtype: "float32",
          })
          .toFloat32(),
      );
      const ggml = dequantMxfp4(bytes);
      expect({ tensor: t.name, equal: ours.length === ggml.length && ours.every((v, i) => v === ggml[i]) }).toEqual({ tensor: t.name, equal: true });
    }
  });
});

describe(`gpt-oss as llama.cpp's "gpt-oss" GGUF with MXFP4 experts`, () => {
  test("loads the experts in mxfp4 mode and gives mlx-lm's logits bit for bit and its greedy tokens", async () => {
    const { config, tensors } = loadGgufWeights(gguf());
    expect(config.model_type).toBe("gpt_oss");
    expect((config.quantization as Record<string, unknown>)["model.layers.0.mlp.experts.down_proj"]).toEqual({ group_size: 32, bits: 4, mode: "mxfp4" });
    const { model } = build(config, tensors);
    try {
      for (const p of fixture.reference.prompts) {
        const logits = logitsOf(model, p);
        const V = logits.length / p.tokens.length;
        let worst = 0;
        p.logits.positions.forEach((pos, i) => {
          for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[pos * V + v]! - p.logits.values[i]![v]!));
        });
        expect({ prompt: p.name, worst }).toEqual({ prompt: p.name, worst: 0 });
        for (const run of p.greedy) {
          const tokens = await greedy(model, p, run.prefill_step_size);
          expect({ prompt: p.name, chunk: run.prefill_step_size, tokens }).toEqual({ prompt: p.name, chunk: run.prefill_step_size, tokens: run.tokens });
        }
      }
    } finally {
      model[Symbol.dispose]();
    }
  });
});
