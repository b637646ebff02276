// A llama.cpp GGUF LoRA fused into its GGUF base (train/fuse.ts fuseGgufAdapter): the base becomes the MLX model its
// loader builds (formats/gguf/convert.ts) and the adapter is merged there, against mlx_lm.fuse's merge of the same
// adapter (in mlx-lm's layout, the GGUF's row order) into that same directory (test/fixtures/lora_fuse_oracle.py):
// every merged tensor and the logits, on an F32 base and a Q4_1 one (dequantized, added to, requantized in MLX's
// affine groups of 32, as the loader holds it); and the fused model against the adapter applied unfused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadGgufModel, loadMlxModel, type LoadedModel } from "../../src/engine/completion.ts";
import { array, astype, cpuKernels, loadSafetensors, scope } from "../../src/ffi/index.ts";
import { GGUF_ADAPTER_FILE, readAdapter } from "../../src/formats/adapter.ts";
import { convertGgufToMlx } from "../../src/formats/gguf/convert.ts";
import { loadAdapter } from "../../src/models/adapter.ts";
import { fuseGgufAdapter } from "../../src/train/fuse.ts";
import { ggufLoraReference, tinyGgufLora } from "../fixtures/gguf-lora.ts";
import { REPO_ROOT, runOracleScript } from "../oracle.ts";

// MLX's own ops, as mlx-lm runs them (the env var is what the loaders read)
const kernels = process.env.OLLMLX_CPU_KERNELS;
beforeAll(() => {
  process.env.OLLMLX_CPU_KERNELS = "mlx";
  cpuKernels({ use: "mlx" });
});
afterAll(() => {
  if (kernels === undefined) delete process.env.OLLMLX_CPU_KERNELS;
  else process.env.OLLMLX_CPU_KERNELS = kernels;
  cpuKernels({ use: "best" });
});

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

function maxDiff(a: Float32Array, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function rms(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s / a.length);
}

describe("fusing a GGUF LoRA into its GGUF base", () => {
  for (const base of ["llama-f32.gguf", "llama-q4_1.gguf"]) {
    test(`${base}: the merged tensors and the fused model's logits are mlx_lm.fuse's over the model the loader builds`, async () => {
      const dir = await tinyGgufLora();
      const { ids } = await ggufLoraReference();
      const work = mkdtempSync(join(tmpdir(), "ollmlx-fuse-gguf-"));
      // the oracle: mlx-lm fusing the adapter into the GGUF as our converter writes it
      convertGgufToMlx(join(dir, base), join(work, "converted"));
      const oracle = runOracleScript<{ logits: number[][]; weights: Record<string, number[]> }>(join(REPO_ROOT, "test/fixtures/lora_fuse_oracle.py"), {
        model: join(work, "converted"),
        adapter: join(dir, "mlx-gguf"),
        ids,
      });

      const adapter = loadAdapter(readAdapter({ [GGUF_ADAPTER_FILE]: join(dir, "adapter-f32.gguf") }));
      const files = fuseGgufAdapter(join(dir, base), adapter, join(work, "fused"));
      for (const t of adapter.tensors.values()) t.free();
      expect(files).toEqual(readdirSync(join(work, "converted")).sort()); // a whole MLX model directory
      const fused = loadSafetensors(join(work, "fused", "model.safetensors")).tensors;
      expect(Object.keys(oracle.weights).length).toBe(base.includes("q4") ? 14 * 3 : 14);
      for (const [name, want] of Object.entries(oracle.weights)) {
        const ours = scope(() => astype(fused.get(name.replace(".linear.", "."))!, "float32").toFloat32());
        expect({ name, same: ours.every((v, i) => v === want[i]) }).toEqual({ name, same: true });
      }
      for (const t of fused.values()) t.free();

      using lm = await loadMlxModel("fused", join(work, "fused"));
      const ours = logitsOf(lm, ids);
      expect(maxDiff(ours, oracle.logits.flat())).toBe(0); // the same ops on the same weights
      // against the adapter applied unfused: float32 sums in another order; a 4-bit base requantized after the
      // merge loses much of this strong random adapter (mlx_lm.fuse's rule: measured RMS 0.57 from the unfused
      // logits, where the base is 1.2 from them), but the fused model is still far nearer the adapted one
      using unfused = loadGgufModel("unfused", join(dir, base), { adapter: loadAdapter(readAdapter({ [GGUF_ADAPTER_FILE]: join(dir, "adapter-f32.gguf") })) });
      const adapted = logitsOf(unfused, ids);
      if (base.includes("f32")) expect(maxDiff(ours, adapted)).toBeLessThan(5e-4);
      else {
        using plain = loadGgufModel("base", join(dir, base));
        expect(rms(ours, adapted)).toBeLessThan(0.6 * rms(logitsOf(plain, ids), adapted));
      }
      rmSync(work, { recursive: true, force: true });
    });
  }
});
