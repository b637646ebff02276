// An adapter fused into its base (train/fuse.ts) against mlx_lm.fuse's merge (test/fixtures/lora_fuse_oracle.py):
// every merged tensor and the fused model's logits, on a float32 base and on a 4-bit one (dequantized, added to,
// requantized), with MLX's own ops.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { loadMlxModel } from "../../src/engine/completion.ts";
import { array, astype, cpuKernels, loadSafetensors, scope } from "../../src/ffi/index.ts";
import { readAdapterDir } from "../../src/formats/adapter.ts";
import { loadAdapter } from "../../src/models/adapter.ts";
import { weightFiles } from "../../src/models/load.ts";
import { fuseAdapter } from "../../src/train/fuse.ts";
import { ADAPTED_BASES, tinyAdapters } from "../fixtures/adapters.ts";
import { listTinyModels } from "../fixtures/tiny-models.ts";
import { REPO_ROOT, runOracleScript } from "../oracle.ts";

// MLX's own ops, as mlx-lm runs them (the env var is what loadMlxModel reads)
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

const IDS = [3, 17, 42, 99, 250, 7, 64, 5];

describe("fusing an adapter into its base", () => {
  for (const base of ADAPTED_BASES) {
    test(`${base}: the fused model's logits are mlx_lm.fuse's`, async () => {
      const dir = (await listTinyModels()).find((m) => m.name === base)!.dir;
      const adapterDir = join(await tinyAdapters(), base, "mlx");
      const { logits, weights } = runOracleScript<{ logits: number[][]; weights: Record<string, number[]> }>(join(REPO_ROOT, "test/fixtures/lora_fuse_oracle.py"), { model: dir, adapter: adapterDir, ids: IDS });

      const work = mkdtempSync(join(tmpdir(), "ollmlx-fuse-"));
      const adapter = loadAdapter(readAdapterDir(adapterDir));
      const written = fuseAdapter(dir, adapter, join(work, "fused"));
      for (const t of adapter.tensors.values()) t.free();
      expect(written).toEqual(weightFiles(dir).map((f) => basename(f))); // the tiny models keep every block in one file
      // every merged tensor (a quantized Linear's packed weight, scales and biases) is mlx-lm's
      const fusedTensors = loadSafetensors(join(work, "fused", written[0]!)).tensors;
      for (const [name, want] of Object.entries(weights)) {
        const ours = scope(() => astype(fusedTensors.get(name.replace(".linear.", "."))!, "float32").toFloat32());
        expect({ name, same: ours.every((v, i) => v === want[i]) }).toEqual({ name, same: true });
      }
      for (const t of fusedTensors.values()) t.free();
      // the fused model: the base's files, the rewritten ones replaced, no adapter
      const model = join(work, "model");
      mkdirSync(model);
      for (const f of readdirSync(dir)) if (f !== "adapter") symlinkSync(written.includes(f) ? join(work, "fused", f) : join(dir, f), join(model, f));
      using lm = await loadMlxModel(`${base}-fused`, model);
      const ours = scope(() => {
        const caches = lm.model.makeCache();
        try {
          return lm.model.forward(array(IDS, [1, IDS.length], "int32"), caches).toFloat32();
        } finally {
          for (const c of caches) c[Symbol.dispose]();
        }
      });
      const flat = logits.flat();
      let worst = 0;
      for (let i = 0; i < flat.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - flat[i]!));
      expect(worst).toBe(0); // the same ops on the same weights: bit for bit
      rmSync(work, { recursive: true, force: true });
    });
  }
});
