// Models with an adapter merged into their weights (train/fuse.ts, in a runner: the server never touches MLX): the
// base's layers with each rewritten weight file's layer replaced by its fused copy, and no adapter layer. Used by
// /api/finetune (`fuse`, the runner fuses right after training) and /api/create (`fuse` with `adapters`).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { RunnerProcess } from "../scheduler/runner-process.ts";
import { layerFilePath, MEDIA, type Layer } from "../store/store.ts";
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
