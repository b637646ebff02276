// LoRA adapters applied unfused at load, against mlx-lm's own loading of the same adapter folder
// (`mlx_lm.load(path, adapter_path=...)`): logits and greedy tokens, on a float32 base and a 4-bit one (QLoRA), in
// mlx-lm's layout and PEFT's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { loadMlxModel } from "../../src/engine/completion.ts";
import { AdapterError, readAdapterDir } from "../../src/formats/adapter.ts";
import { array, concatenate, liveCount, loadSafetensors, saveSafetensors, scope } from "../../src/ffi/index.ts";
import { loadAdapter } from "../../src/models/adapter.ts";
import { ADAPTED_BASES, adapterReference, tinyAdapters } from "../fixtures/adapters.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";
import { mkdtempSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";

async function baseDir(name: string): Promise<string> {
  return (await listTinyModels()).find((m) => m.name === name)!.dir;
}

function logitsOf(model: Awaited<ReturnType<typeof loadMlxModel>>, ids: number[]): Float32Array {
  return scope(() => {
    const caches = model.model.makeCache();
    try {
      return model.model.forward(array(ids, [1, ids.length], "int32"), caches).toFloat32();
    } finally {
      for (const c of caches) c[Symbol.dispose]();
    }
  });
}

function maxDiff(ours: Float32Array, ref: number[][]): number {
  const flat = ref.flat();
  let d = 0;
  for (let i = 0; i < flat.length; i++) d = Math.max(d, Math.abs(ours[i]! - flat[i]!));
  return d;
}

// MLX's own ops, as mlx-lm runs them: the logits are then mlx-lm's to the bit (test/models/parity.test.ts)
const kernels = process.env.OLLMLX_CPU_KERNELS;
beforeAll(() => {
  process.env.OLLMLX_CPU_KERNELS = "mlx";
});
afterAll(() => {
  if (kernels === undefined) delete process.env.OLLMLX_CPU_KERNELS;
  else process.env.OLLMLX_CPU_KERNELS = kernels;
});

describe("LoRA adapters", () => {
  for (const base of ADAPTED_BASES) {
    test(`${base}: an mlx-lm adapter and the same adapter saved by PEFT give mlx-lm's logits and greedy tokens`, async () => {
      const ref = await adapterReference(base);
      const dir = join(await tinyAdapters(), base);
      const plain = await loadMlxModel("base", await baseDir(base));
      const baseLogits = logitsOf(plain, ref.ids);
      plain[Symbol.dispose]();
      for (const layout of ["mlx", "peft"]) {
        const spec = readAdapterDir(join(dir, layout));
        expect(spec.scale).toBe(20);
        using lm = await loadMlxModel("adapted", await baseDir(base), { adapter: loadAdapter(spec) });
        const ours = logitsOf(lm, ref.ids);
        // PEFT's layout is transposed back: the same numbers, the same arithmetic
        expect({ layout, diff: maxDiff(ours, ref.logits) }).toEqual({ layout, diff: 0 });
        // the adapter matters: without it the logits are elsewhere
        expect(maxDiff(baseLogits, ref.logits)).toBeGreaterThan(0.5);
        const tokens = [...ref.ids];
        for (let i = 0; i < ref.greedy.length; i++) {
          const l = logitsOf(lm, tokens);
          const V = l.length / tokens.length;
          const last = l.subarray(l.length - V);
          tokens.push(last.indexOf(Math.max(...last)));
        }
        expect(tokens.slice(ref.ids.length)).toEqual(ref.greedy);
      }
    });
  }

  test("a store model directory's adapter/ folder is loaded with it; its arrays are freed with the model", async () => {
    const ref = await adapterReference("qwen3-f32");
    const dir = mkdtempSync(join(tmpdir(), "ollmlx-adapted-"));
    cpSync(await baseDir("qwen3-f32"), dir, { recursive: true });
    cpSync(join(await tinyAdapters(), "qwen3-f32", "mlx"), join(dir, "adapter"), { recursive: true });
    const before = liveCount();
    const lm = await loadMlxModel("adapted", dir);
    expect(maxDiff(logitsOf(lm, ref.ids), ref.logits)).toBe(0);
    lm[Symbol.dispose]();
    expect(liveCount()).toBe(before);
  });

  test("an adapter that does not fit its base, or that ollmlx cannot apply, is a clear error", async () => {
    const qwen = join(await tinyAdapters(), "qwen3-f32", "mlx");
    const bad = mkdtempSync(join(tmpdir(), "ollmlx-bad-adapter-"));
    cpSync(qwen, bad, { recursive: true });
    // a module the model lacks (a third layer), and one whose shapes are another model's
    const stored = loadSafetensors(join(qwen, "adapters.safetensors")).tensors;
    const renamed = new Map([...stored].map(([k, v]) => [k.replace("layers.1.", "layers.7."), v]));
    saveSafetensors(join(bad, "adapters.safetensors"), renamed);
    const before = liveCount();
    await expect(loadMlxModel("x", await baseDir("qwen3-f32"), { adapter: loadAdapter(readAdapterDir(bad)) })).rejects.toThrow(
      "the adapter adapts modules the model does not have: model.layers.7.",
    );
    const wrong = new Map([...stored].map(([k, v]) => [k, k.endsWith("q_proj.lora_a") ? concatenate([v, v], 0) : v]));
    saveSafetensors(join(bad, "adapters.safetensors"), wrong);
    await expect(loadMlxModel("x", await baseDir("qwen3-f32"), { adapter: loadAdapter(readAdapterDir(bad)) })).rejects.toThrow(
      "the adapter's model.layers.0.self_attn.q_proj is [128 → 64] but the model's layer is [64 → 64]",
    );
    for (const t of [...stored.values(), ...wrong.values()]) t.free();
    expect(liveCount()).toBe(before - stored.size); // a build that fails halfway frees what it had built
    writeFileSync(join(bad, "adapter_config.json"), JSON.stringify({ fine_tune_type: "dora", lora_parameters: { scale: 20 } }));
    expect(() => readAdapterDir(bad)).toThrow(AdapterError);
    expect(() => readAdapterDir(bad)).toThrow('fine_tune_type "dora" is not supported');
    writeFileSync(join(bad, "adapter_config.json"), JSON.stringify({ fine_tune_type: "lora", lora_parameters: { rank: 4 } }));
    expect(() => readAdapterDir(bad)).toThrow("no lora_parameters.scale");
    writeFileSync(join(bad, "adapters.safetensors"), "not safetensors");
    writeFileSync(join(bad, "adapter_config.json"), JSON.stringify({ lora_parameters: { scale: 20 } }));
    expect(() => readAdapterDir(bad)).toThrow("not a safetensors file");
  });
});
