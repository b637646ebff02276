// Models with an adapter merged into their weights (train/fuse.ts, in a runner: the server never touches MLX): the
// base's layers with each rewritten weight file's layer replaced by its fused copy, and no adapter layer. Used by
// /api/finetune (`fuse`, the runner fuses right after training) and /api/create (`fuse` with `adapters`). A GGUF
// base fused becomes the MLX model its loader builds (train/fuse.ts): its GGUF layer replaced by that directory's
// files, and its config blob by that model's.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { RunnerProcess } from "../scheduler/runner-process.ts";
import { mlxConfigBlob } from "../store/pull-hf.ts";
import { layerFilePath, MEDIA, mlxFileMediaType, type Layer, type ModelConfigBlob } from "../store/store.ts";
import type { AppContext } from "./context.ts";

export interface FusedLayers {
  all: Layer[];
  added: Layer[];
}

/** The base's layers with the fused weight files (in outDir/fused, named as the base's) in place of theirs. */
export async function fusedLayers(app: AppContext, base: readonly Layer[], outDir: string, files: readonly string[]): Promise<FusedLayers> {
  const added = new Map<string, Layer>();
  for (const file of files) added.set(file, await app.store.importFile(join(outDir, "fused", file), MEDIA.safetensors, file));
  return { all: base.map((l) => (l.name && added.get(l.name)) || l), added: [...added.values()] };
}

/** An adapter's layers (already checked against the base) merged into the base's weights by a runner. */
export async function fuseAdapterLayers(app: AppContext, base: readonly Layer[], adapter: readonly Layer[]): Promise<FusedLayers> {
  const work = join(app.store.root, ".ollmlx-train");
  mkdirSync(work, { recursive: true });
  const outDir = mkdtempSync(join(work, "fuse-"));
  const runner = new RunnerProcess();
  try {
    // the base as a model directory: links named like its files
    const dir = join(outDir, "base");
    for (const l of base) {
      if (!l.name || l.mediaType === MEDIA.adapter) continue;
      const path = join(dir, layerFilePath(l.name));
      mkdirSync(join(path, ".."), { recursive: true });
      symlinkSync(app.store.blobPath(l.digest), path);
    }
    const adapterFiles = Object.fromEntries(adapter.map((l) => [basename(l.name!), app.store.blobPath(l.digest)]));
    await runner.ready;
    const done = await runner.call({ op: "fuse", params: { base: dir, adapterFiles, outDir: join(outDir, "fused") } });
    const files = done.type === "done" ? ((done.data as { files?: string[] } | undefined)?.files ?? []) : [];
    return await fusedLayers(app, base, outDir, files);
  } finally {
    await runner.stop();
    rmSync(outDir, { recursive: true, force: true });
  }
}

/**
 * A GGUF base's layers with its model layer replaced by a fused MLX directory's files (in outDir/fused: the
 * template, system, parameters... kept, no adapter), and the config blob of that model.
 */
export async function ggufFusedLayers(app: AppContext, base: readonly Layer[], config: ModelConfigBlob, outDir: string, files: readonly string[]): Promise<FusedLayers & { config: ModelConfigBlob }> {
  const added: Layer[] = [];
  for (const f of files) added.push(await app.store.importFile(join(outDir, "fused", f), mlxFileMediaType(f), f));
  const hf = JSON.parse(readFileSync(join(outDir, "fused", "config.json"), "utf8")) as Record<string, unknown>;
  const fused = { ...mlxConfigBlob(hf), ...(config.capabilities ? { capabilities: config.capabilities } : {}) };
  return { all: [...added, ...base.filter((l) => l.mediaType !== MEDIA.model && l.mediaType !== MEDIA.adapter)], added, config: fused };
}

/**
 * A GGUF base's layers with a GGUF LoRA (checked against it) merged in by a runner: its model layer replaced by the
 * fused MLX directory's files (the template, system, parameters... kept), and the config blob of that model.
 */
export async function fuseGgufAdapterLayers(app: AppContext, base: readonly Layer[], config: ModelConfigBlob, adapter: readonly Layer[]): Promise<FusedLayers & { config: ModelConfigBlob }> {
  const work = join(app.store.root, ".ollmlx-train");
  mkdirSync(work, { recursive: true });
  const outDir = mkdtempSync(join(work, "fuse-"));
  const runner = new RunnerProcess();
  try {
    const model = base.find((l) => l.mediaType === MEDIA.model)!;
    const adapterFiles = Object.fromEntries(adapter.map((l) => [basename(l.name!), app.store.blobPath(l.digest)]));
    await runner.ready;
    const params = { base: app.store.blobPath(model.digest), gguf: true, adapterFiles, outDir: join(outDir, "fused") };
    const done = await runner.call({ op: "fuse", params });
    const files = done.type === "done" ? ((done.data as { files?: string[] } | undefined)?.files ?? []) : [];
    return await ggufFusedLayers(app, base, config, outDir, files);
  } finally {
    await runner.stop();
    rmSync(outDir, { recursive: true, force: true });
  }
}
