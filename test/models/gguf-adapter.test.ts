// llama.cpp GGUF LoRA files (convert_lora_to_gguf.py's layout) applied unfused over a GGUF base, against mlx-lm's
// own loading of the same adapter in its layout over the same weights as safetensors: the tiny llama, whose GGUF
// keeps llama.cpp's permuted Q/K rows (and the adapter's B rows of them permuted alike).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { loadGgufModel, loadMlxModel, type LoadedModel } from "../../src/engine/completion.ts";
import { AdapterError, GGUF_ADAPTER_FILE, readAdapter, readAdapterDir } from "../../src/formats/adapter.ts";
import { array, astype, liveCount, scope } from "../../src/ffi/index.ts";
import { loadAdapter } from "../../src/models/adapter.ts";
import { ggufLoraReference, llamaCppGreedy, tinyGgufLora } from "../fixtures/gguf-lora.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";

function logitsOf(lm: LoadedModel, ids: number[]): Float32Array {
  return scope(() => {
    const caches = lm.model.makeCache();
    try {
      return lm.model.forward(array(ids, [1, ids.length], "int32"), caches).toFloat32();
    } finally {
      for (const c of caches) c[Symbol.dispose]();
    }
  });
}

function maxDiff(a: Float32Array, b: Float32Array | number[]): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const ggufSpec = (dir: string, file: string) => readAdapter({ [GGUF_ADAPTER_FILE]: join(dir, file) });

// MLX's own ops, as mlx-lm runs them
const kernels = process.env.OLLMLX_CPU_KERNELS;
beforeAll(() => {
  process.env.OLLMLX_CPU_KERNELS = "mlx";
});
afterAll(() => {
  if (kernels === undefined) delete process.env.OLLMLX_CPU_KERNELS;
  else process.env.OLLMLX_CPU_KERNELS = kernels;
});

describe("llama.cpp GGUF LoRA adapters", () => {
  test("a GGUF LoRA on the GGUF llama gives mlx-lm's logits and greedy tokens for the same adapter on the safetensors llama", async () => {
    const dir = await tinyGgufLora();
    const ref = await ggufLoraReference();
    const spec = ggufSpec(dir, "adapter-f32.gguf");
    // llama-adapter.cpp: alpha / rank (80 / 4), every Linear of both blocks
    expect({ scale: spec.scale, modules: spec.modules.size, architecture: spec.architecture }).toEqual({ scale: 20, modules: 14, architecture: "llama" });
    const base = loadGgufModel("base", join(dir, "llama-f32.gguf"));
    const baseLogits = logitsOf(base, ref.ids);
    base[Symbol.dispose]();
    const before = liveCount();
    const lm = loadGgufModel("adapted", join(dir, "llama-f32.gguf"), { adapter: loadAdapter(spec) });
    const ours = logitsOf(lm, ref.ids);
    // Not to the bit: the GGUF's Q/K rows are permuted and rotated as pairs (traditional RoPE), mlx-lm rotates
    // halves; the same sums in another order (measured 2.1e-5 with the adapter, 2.7e-6 for the bases alone)
    expect(maxDiff(ours, ref.logits.flat())).toBeLessThan(1e-4);
    expect(maxDiff(baseLogits, ref.logits.flat())).toBeGreaterThan(1); // the adapter matters
    const tokens = [...ref.ids];
    for (let i = 0; i < ref.greedy.length; i++) {
      const l = logitsOf(lm, tokens);
      const last = l.subarray(l.length - l.length / tokens.length);
      tokens.push(last.indexOf(Math.max(...last)));
    }
    expect(tokens.slice(ref.ids.length)).toEqual(ref.greedy);
    lm[Symbol.dispose]();
    expect(liveCount()).toBe(before);
  });

  test("llama.cpp itself, given the same files, applies the LoRA as we do: its greedy tokens are mlx-lm's, and not the base's", async () => {
    // what makes the fixture's layout (names, transposes, Q/K rows, alpha) llama.cpp's and not only our reading of it
    const dir = await tinyGgufLora();
    const ref = await ggufLoraReference();
    const base = join(dir, "llama-f32.gguf");
    for (const lora of ["adapter-f32.gguf", "adapter-f16.gguf", "adapter-noalpha.gguf"]) {
      expect({ lora, greedy: llamaCppGreedy(base, join(dir, lora), ref.ids, ref.greedy.length) }).toEqual({ lora, greedy: ref.greedy });
    }
    expect(llamaCppGreedy(base, null, ref.ids, ref.greedy.length)).not.toEqual(ref.greedy);
  });

  test("without adapter.lora.alpha the scale is 1, as llama.cpp applies it (Ollama's conversions of mlx-lm adapters)", async () => {
    const dir = await tinyGgufLora();
    const ref = await ggufLoraReference();
    const spec = ggufSpec(dir, "adapter-noalpha.gguf");
    expect(spec.scale).toBe(1);
    using lm = loadGgufModel("noalpha", join(dir, "llama-f32.gguf"), { adapter: loadAdapter(spec) });
    expect(maxDiff(logitsOf(lm, ref.ids), ref.logits.flat())).toBeLessThan(1e-4); // B carries the 20
  });

  test("a tensor of another rank keeps llama.cpp's alpha over its own rank: as the same adapter in mlx-lm's layout with that B rescaled", async () => {
    const dir = await tinyGgufLora();
    const ref = await ggufLoraReference();
    const spec = ggufSpec(dir, "adapter-ranks.gguf");
    expect({ scale: spec.scale, q: spec.modules.get("model.layers.0.self_attn.q_proj")!.scale }).toEqual({ scale: 20, q: 10 });
    using lm = loadGgufModel("ranks", join(dir, "llama-f32.gguf"), { adapter: loadAdapter(spec) });
    using same = await loadMlxModel("same", (await listTinyModels()).find((m) => m.name === "llama-f32")!.dir, { adapter: loadAdapter(readAdapterDir(join(dir, "mlx-ranks"))) });
    const ours = logitsOf(lm, ref.ids);
    expect(maxDiff(ours, logitsOf(same, ref.ids))).toBeLessThan(1e-4);
    expect(maxDiff(ours, ref.logits.flat())).toBeGreaterThan(0.1); // the rank-8 tensor is another adapter's
    // and llama.cpp's own greedy tokens with it are ours
    const tokens = [...ref.ids];
    for (let i = 0; i < 12; i++) {
      const l = logitsOf(lm, tokens);
      const last = l.subarray(l.length - l.length / tokens.length);
      tokens.push(last.indexOf(Math.max(...last)));
    }
    expect(llamaCppGreedy(join(dir, "llama-f32.gguf"), join(dir, "adapter-ranks.gguf"), ref.ids, 12)).toEqual(tokens.slice(ref.ids.length));
  });

  test("an F16 GGUF LoRA is the same adapter rounded to float16, to the bit", async () => {
    const dir = await tinyGgufLora();
    const { ids } = await ggufLoraReference();
    const rounded = loadAdapter(ggufSpec(dir, "adapter-f32.gguf"));
    for (const [k, t] of rounded.tensors) {
      using half = astype(t, "float16");
      rounded.tensors.set(k, astype(half, "float32"));
      t.free();
    }
    using a = loadGgufModel("rounded", join(dir, "llama-f32.gguf"), { adapter: rounded });
    using b = loadGgufModel("f16", join(dir, "llama-f32.gguf"), { adapter: loadAdapter(ggufSpec(dir, "adapter-f16.gguf")) });
    expect(maxDiff(logitsOf(b, ids), logitsOf(a, ids))).toBe(0);
  });

  test("a GGUF that is not a LoRA adapter, or one on tensors the model lacks, is a clear error", async () => {
    const dir = await tinyGgufLora();
    expect(() => ggufSpec(dir, "llama-f32.gguf")).toThrow(AdapterError);
    expect(() => ggufSpec(dir, "llama-f32.gguf")).toThrow('the GGUF is not an adapter: its general.type is null, not "adapter"');
    expect(() => ggufSpec(dir, "missing.gguf")).toThrow();
    expect(() => loadGgufModel("x", join(dir, "llama-f32.gguf"), { adapter: loadAdapter(ggufSpec(dir, "bad-module.gguf")) })).toThrow(
      "the adapter adapts modules the model does not have: model.layers.7.",
    );
  });
});
