// An adapter merged into its base's weights, as mlx_lm.fuse merges one (tuner/lora.py LoRALinear.fuse): for each
// adapted Linear W' = W + ((scale·Bᵀ) @ Aᵀ) in W's dtype; a quantized W is dequantized first and W' requantized
// with the same group size, bits and mode (config.json's quantization, per-module overrides included). Only the
// weight files that hold an adapted Linear are rewritten, under their own names: the model needs no adapter after.
// A GGUF base (with a GGUF LoRA) has no weight files to rewrite in its own format: it becomes the MLX model
// directory its loader builds (formats/gguf/convert.ts: llama.cpp's blocks repacked to MLX's affine groups of 32,
// 16-element K-quants requantized) and is merged there, the same way.
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { add, astype, dequantize, loadSafetensors, matmul, multiply, quantize, saveSafetensors, scope, transpose, type MxArray, type QuantMode } from "../ffi/index.ts";
import type { FuseParams } from "../engine/protocol.ts";
import type { JobContext } from "../engine/job.ts";
import { readAdapter, readAdapterDir, safetensorsHeader } from "../formats/adapter.ts";
import { convertGgufToMlx } from "../formats/gguf/convert.ts";
import { loadAdapter, type LoadedAdapter } from "../models/adapter.ts";
import { readConfig, weightFiles } from "../models/load.ts";

interface Quant {
  group_size?: number;
  bits?: number;
  mode?: QuantMode;
}

/** The fused tensors of one Linear: its weight (and, quantized, scales and biases) by name. */
function fuseLinear(tensors: ReadonlyMap<string, MxArray>, path: string, a: MxArray, b: MxArray, scale: number, q: Quant | null): Map<string, MxArray> {
  const w = tensors.get(`${path}.weight`)!;
  const scales = tensors.get(`${path}.scales`);
  const opts = { groupSize: q?.group_size ?? 64, bits: q?.bits ?? 4, mode: q?.mode ?? "affine" };
  const weight = scales ? dequantize(w, scales, tensors.get(`${path}.biases`) ?? null, opts) : w;
  const delta = astype(matmul(multiply(transpose(b, [1, 0]), scale), transpose(a, [1, 0])), weight.dtype);
  const fused = add(weight, delta);
  if (!scales) return new Map([[`${path}.weight`, fused]]);
  const r = quantize(fused, opts);
  return new Map([[`${path}.weight`, r.wq], [`${path}.scales`, r.scales], ...(r.biases ? [[`${path}.biases`, r.biases] as const] : [])]);
}

/** Writes the fused weight files into outDir; returns their names (those of the base's files they replace). */
export function fuseAdapter(baseDir: string, adapter: LoadedAdapter, outDir: string): string[] {
  const config = readConfig(baseDir);
  const quant = (config.quantization ?? null) as (Quant & Record<string, unknown>) | null;
  const paths = [...adapter.tensors.keys()].filter((k) => k.endsWith(".lora_a")).map((k) => k.slice(0, -".lora_a".length));
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const file of weightFiles(baseDir)) {
    const names = new Set(safetensorsHeader(file).keys());
    const here = paths.filter((p) => names.has(`${p}.weight`));
    if (here.length === 0) continue;
    const { tensors, metadata } = loadSafetensors(file);
    try {
      scope(() => {
        const out = new Map(tensors);
        for (const p of here) {
          const q = quant ? { ...quant, ...((quant[p] as Quant | undefined) ?? {}) } : null;
          for (const [k, v] of fuseLinear(tensors, p, adapter.tensors.get(`${p}.lora_a`)!, adapter.tensors.get(`${p}.lora_b`)!, adapter.scale, q)) out.set(k, v);
        }
        saveSafetensors(join(outDir, basename(file)), out, metadata);
      });
    } finally {
      for (const t of tensors.values()) t.free();
    }
    written.push(basename(file));
  }
  return written;
}

/** A GGUF base as an MLX model directory with the adapter merged in: every file of it in outDir, by name. */
export function fuseGgufAdapter(ggufPath: string, adapter: LoadedAdapter, outDir: string): string[] {
  const converted = `${outDir}.base`;
  convertGgufToMlx(ggufPath, converted);
  try {
    const written = fuseAdapter(converted, adapter, outDir);
    for (const f of readdirSync(converted)) if (!written.includes(f)) renameSync(join(converted, f), join(outDir, f));
    return readdirSync(outDir).sort();
  } finally {
    rmSync(converted, { recursive: true, force: true });
  }
}

/** The adapter in an mlx-lm or PEFT folder (or file map) fused into the base at `baseDir`: outDir/fused. */
export function fuseAdapterDir(adapterDir: string, baseDir: string): string[] {
  const adapter = loadAdapter(readAdapterDir(adapterDir));
  try {
    return fuseAdapter(baseDir, adapter, join(adapterDir, "fused"));
  } finally {
    for (const t of adapter.tensors.values()) t.free();
  }
}

/** The adapter in an mlx-lm folder (one trained over a GGUF base, in its row order) fused into that GGUF: outDir/fused. */
export function fuseGgufAdapterDir(adapterDir: string, ggufPath: string): string[] {
  const adapter = loadAdapter(readAdapterDir(adapterDir));
  try {
    return fuseGgufAdapter(ggufPath, adapter, join(adapterDir, "fused"));
  } finally {
    for (const t of adapter.tensors.values()) t.free();
  }
}

/** The runner's fuse job (`create` with `fuse`): an adapter's files (checked against the base by the route). */
export function fuseJob(id: number, params: FuseParams, ctx: JobContext): void {
  const adapter = loadAdapter(readAdapter(params.adapterFiles));
  try {
    const files = params.gguf ? fuseGgufAdapter(params.base, adapter, params.outDir) : fuseAdapter(params.base, adapter, params.outDir);
    ctx.emit({ type: "done", id, reason: "ok", data: { files } });
  } finally {
    for (const t of adapter.tensors.values()) t.free();
  }
}
