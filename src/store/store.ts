// The model store in Ollama's on-disk layout, so a store can be shared with Ollama:
//   <root>/manifests/<host>/<namespace>/<model>/<tag>   JSON manifest (written last)
//   <root>/blobs/sha256-<hex>                          content-addressed, written to a temp file, verified, renamed
// MLX models (mlx-community layout) keep each file as a layer named by its file name; at load time the runner
// gets a directory of links named like the original files.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { OLLMLX_MODELS } from "../config/settings.ts";
import { displayName, isSafeRelativePath, MODULE_FOLDER, parseModelName, type ModelName } from "./names.ts";

export const MEDIA = {
  manifest: "application/vnd.docker.distribution.manifest.v2+json",
  config: "application/vnd.docker.container.image.v1+json",
  model: "application/vnd.ollama.image.model",
  template: "application/vnd.ollama.image.template",
  system: "application/vnd.ollama.image.system",
  params: "application/vnd.ollama.image.params",
  messages: "application/vnd.ollama.image.messages",
  license: "application/vnd.ollama.image.license",
  /** an HF JSON file of an MLX model (config.json, tokenizer.json, ...), `name` = file name */
  json: "application/vnd.ollama.image.json",
  /** a safetensors file of an MLX model, `name` = file name */
  safetensors: "application/vnd.ollmlx.image.safetensors",
  /** any other file of an MLX model directory (chat_template.jinja, tokenizer.model, ...) */
  file: "application/vnd.ollmlx.image.file",
  /** a LoRA adapter's file (Ollama's media type), `name` = adapter/<file> (formats/adapter.ts); Ollama's own, a
   * GGUF LoRA, has no name */
  adapter: "application/vnd.ollama.image.adapter",
} as const;

/** The media type of an MLX model directory's file, by its name. */
export function mlxFileMediaType(file: string): string {
  if (file.endsWith(".safetensors")) return MEDIA.safetensors;
  if (file.endsWith(".json")) return MEDIA.json;
  return MEDIA.file;
}

export interface Layer {
  mediaType: string;
  digest: string;
  size: number;
  name?: string;
  from?: string;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  config: Layer;
  layers: Layer[];
}

/** The config blob (Ollama's ConfigV2), with the fields ollmlx fills. */
export interface ModelConfigBlob {
  model_format: "gguf" | "safetensors";
  model_family: string;
  model_families: string[];
  model_type: string;
  file_type: string;
  architecture?: string;
  context_length?: number;
  embedding_length?: number;
  capabilities?: string[];
}

export class ModelNotInStoreError extends Error {
  override name = "ModelNotInStoreError";
  constructor(readonly model: string) {
    super(`model '${model}' not found`);
  }
}

export interface StoredModel {
  name: ModelName;
  display: string;
  manifest: Manifest;
  /** sha256 of the manifest file (Ollama's `digest` in /api/tags) */
  digest: string;
  size: number;
  modifiedAt: Date;
  config: ModelConfigBlob;
}


export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export class Store {
  constructor(readonly root: string = OLLMLX_MODELS.read()) {}

  blobPath(digest: string): string {
    const m = /^sha256[:-]([0-9a-f]{64})$/.exec(digest);
    if (!m) throw new Error(`invalid digest format "${digest}"`);
    return join(this.root, "blobs", `sha256-${m[1]}`);
  }

  manifestPath(n: ModelName): string {
    return join(this.root, "manifests", n.host, n.namespace, n.model, n.tag);
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Writes bytes as a blob: temp file, then rename. Returns the layer (digest, size). */
  writeBlob(data: string | Uint8Array, mediaType: string, name?: string): Layer {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const digest = `sha256:${sha256Hex(bytes)}`;
    const path = this.blobPath(digest);
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, path);
    }
    return { mediaType, digest, size: bytes.length, ...(name ? { name } : {}) };
  }

  /** Copies a file into the blob store, hashing as it streams; the blob appears only once verified. */
  async importFile(src: string, mediaType: string, name?: string): Promise<Layer> {
    const hex = await sha256File(src);
    const digest = `sha256:${hex}`;
    const path = this.blobPath(digest);
    const size = statSync(src).size;
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.tmp-${process.pid}`;
      await Bun.write(tmp, Bun.file(src));
      if ((await sha256File(tmp)) !== hex) {
        unlinkSync(tmp);
        throw new Error(`${src} changed while it was imported`);
      }
      renameSync(tmp, path);
    }
    return { mediaType, digest, size, ...(name ? { name } : {}) };
  }

  /** Writes the manifest last: until it exists the model is not listed. */
  writeManifest(name: ModelName, config: ModelConfigBlob, layers: Layer[]): Manifest {
    const configLayer = this.writeBlob(JSON.stringify(config), MEDIA.config);
    const manifest: Manifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config: configLayer, layers };
    for (const l of layers) if (!this.hasBlob(l.digest)) throw new Error(`layer ${l.digest} is missing from the store`);
    const path = this.manifestPath(name);
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(manifest));
    renameSync(tmp, path);
    return manifest;
  }

  /** Writes a manifest exactly as a registry sent it (its digest is the registry's); last, like writeManifest. */
  writeManifestBytes(name: ModelName, bytes: Uint8Array): Manifest {
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
    for (const l of [manifest.config, ...manifest.layers]) if (!this.hasBlob(l.digest)) throw new Error(`layer ${l.digest} is missing from the store`);
    const path = this.manifestPath(name);
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
    return manifest;
  }

  /** The manifest stored under exactly this name, complete or not; null when there is none. */
  readManifest(name: ModelName): Manifest | null {
    try {
      return JSON.parse(readFileSync(this.manifestPath(name), "utf8")) as Manifest;
    } catch {
      return null;
    }
  }

  /**
   * Deletes those of the given blobs that no manifest references (what a re-pull orphaned). Unlike prune() it leaves
   * every other unreferenced blob alone: a concurrent pull's finished blobs have no manifest yet.
   */
  removeUnusedBlobs(digests: readonly string[]): string[] {
    const used = new Set<string>();
    for (const m of this.list()) for (const l of [m.manifest.config, ...m.manifest.layers]) used.add(l.digest.replace("-", ":"));
    const removed = digests.filter((d) => !used.has(d.replace("-", ":")));
    for (const d of removed) rmSync(this.blobPath(d), { force: true });
    return removed;
  }

  /**
   * Models read so far, by manifest path, with the manifest file's identity (inode, size, mtime) when read. Every
   * request looks its model up; a manifest is only ever written whole (renamed into place, or rewritten by a copy),
   * so one stat tells whether the entry is still what is on disk.
   */
  private readonly models = new Map<string, { stamp: string; model: StoredModel }>();

  private readModel(name: ModelName, path: string): StoredModel | null {
    try {
      const st = statSync(path, { bigint: true });
      const stamp = `${st.ino}:${st.size}:${st.mtimeNs}`;
      const known = this.models.get(path);
      const model = known?.stamp === stamp ? known.model : this.parseModel(name, path, new Date(Number(st.mtimeMs)));
      // A model whose blobs are not all present is not installed (an interrupted pull or a pruned blob).
      if (!model.manifest.layers.every((l) => this.hasBlob(l.digest))) return null;
      this.models.set(path, { stamp, model });
      return model;
    } catch {
      this.models.delete(path);
      return null;
    }
  }

  private parseModel(name: ModelName, path: string, modifiedAt: Date): StoredModel {
    const raw = readFileSync(path);
    const manifest = JSON.parse(raw.toString("utf8")) as Manifest;
    const config = JSON.parse(readFileSync(this.blobPath(manifest.config.digest), "utf8")) as ModelConfigBlob;
    const size = manifest.config.size + manifest.layers.reduce((s, l) => s + l.size, 0);
    return Object.freeze({ name, display: displayName(name), manifest, digest: sha256Hex(raw), size, modifiedAt, config });
  }

  /** Finds a model by name, case-insensitively like Ollama. */
  get(nameOrRaw: string | ModelName): StoredModel {
    const name = typeof nameOrRaw === "string" ? parseModelName(nameOrRaw) : nameOrRaw;
    const exact = this.readModel(name, this.manifestPath(name));
    if (exact) return exact;
    const wanted = displayName(name).toLowerCase();
    const found = this.list().find((m) => m.display.toLowerCase() === wanted);
    if (!found) throw new ModelNotInStoreError(typeof nameOrRaw === "string" ? nameOrRaw : displayName(name));
    return found;
  }

  list(): StoredModel[] {
    const base = join(this.root, "manifests");
    const out: StoredModel[] = [];
    if (!existsSync(base)) return out;
    for (const host of readdirSync(base)) {
      for (const ns of safeDir(join(base, host))) {
        for (const model of safeDir(join(base, host, ns))) {
          for (const tag of safeDir(join(base, host, ns, model))) {
            if (tag.includes(".tmp-")) continue;
            const m = this.readModel({ host, namespace: ns, model, tag }, join(base, host, ns, model, tag));
            if (m) out.push(m);
          }
        }
      }
    }
    return out.sort((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime());
  }

  /**
   * Removes the manifest, then those of its blobs no other manifest references (Ollama's RemoveLayers). Not a prune:
   * the finished blobs of a pull still running have no manifest yet and must stay.
   */
  delete(nameOrRaw: string): void {
    const m = this.get(nameOrRaw);
    unlinkSync(this.manifestPath(m.name));
    this.removeUnusedBlobs([m.manifest.config, ...m.manifest.layers].map((l) => l.digest));
  }

  copy(source: string, destination: string): void {
    const m = this.get(source);
    const dest = parseModelName(destination);
    const path = this.manifestPath(dest);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(m.manifest));
  }

  prune(): void {
    const used = new Set<string>();
    for (const m of this.list()) {
      used.add(m.manifest.config.digest.replace(":", "-"));
      for (const l of m.manifest.layers) used.add(l.digest.replace(":", "-"));
    }
    const dir = join(this.root, "blobs");
    for (const f of safeDir(dir)) if (/^sha256-[0-9a-f]{64}$/.test(f) && !used.has(f)) rmSync(join(dir, f), { force: true });
  }

  /**
   * What the runner loads: the GGUF blob (and the folder of its adapter's files, when it has one), or a directory
   * of links named like the MLX model's files (its adapter's in adapter/).
   */
  modelPath(m: StoredModel): { format: "gguf" | "mlx"; path: string; adapter?: string } {
    if (m.config.model_format === "gguf") {
      const layer = m.manifest.layers.find((l) => l.mediaType === MEDIA.model);
      if (!layer) throw new Error(`${m.display} has no model layer`);
      const path = this.blobPath(layer.digest);
      if (!m.manifest.layers.some((l) => l.mediaType === MEDIA.adapter)) return { format: "gguf", path };
      return { format: "gguf", path, adapter: join(this.linkDir(m), "adapter") };
    }
    return { format: "mlx", path: this.linkDir(m) };
  }

  /** A directory of links to the model's named layers, made once per manifest (its digest names it). */
  private linkDir(m: StoredModel): string {
    const dir = join(this.root, ".ollmlx-links", m.digest);
    if (!existsSync(join(dir, ".complete"))) {
      const tmp = `${dir}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      for (const l of m.manifest.layers) {
        // Ollama's adapter layer has no name: it is always a GGUF LoRA (formats/adapter.ts GGUF_ADAPTER_FILE)
        const name = l.name ?? (l.mediaType === MEDIA.adapter ? "adapter/adapter.gguf" : undefined);
        if (!name) continue;
        // a sentence-transformers module's file keeps its folder (1_Pooling/config.json); nothing climbs out
        const rel = layerFilePath(name);
        mkdirSync(dirname(join(tmp, rel)), { recursive: true });
        symlinkSync(this.blobPath(l.digest), join(tmp, rel));
      }
      writeFileSync(join(tmp, ".complete"), "");
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dirname(dir), { recursive: true });
      renameSync(tmp, dir);
    }
    return dir;
  }

  /**
   * Imports a model directory in the mlx-community layout as a model of this store, with the files of the folders
   * sentence-transformers keeps its modules' configs in (1_Pooling/config.json); other folders (onnx/) stay out.
   */
  async importMlxDir(rawName: string, dir: string, config: ModelConfigBlob): Promise<StoredModel> {
    const name = parseModelName(rawName);
    const layers: Layer[] = [];
    const files = (sub: string) => readdirSync(join(dir, sub)).sort().map((f) => (sub ? `${sub}/${f}` : f));
    for (const f of files("")) {
      const p = join(dir, f);
      const s = statSync(p);
      const inside = s.isDirectory() && MODULE_FOLDER.test(f) ? files(f).filter((g) => statSync(join(dir, g)).isFile()) : [];
      for (const g of s.isFile() ? [f] : inside) {
        layers.push(await this.importFile(join(dir, g), mlxFileMediaType(g), g));
      }
    }
    this.writeManifest(name, config, layers);
    return this.get(name);
  }

  /** Imports a GGUF file (plus optional template/system/params layers) as a model of this store. */
  async importGguf(rawName: string, file: string, config: ModelConfigBlob, extra: Layer[] = []): Promise<StoredModel> {
    const name = parseModelName(rawName);
    const model = await this.importFile(file, MEDIA.model);
    this.writeManifest(name, config, [model, ...extra]);
    return this.get(name);
  }
}

/** A layer's file name as a path in the model's directory: a safe name in at most one folder, else its base name. */
export function layerFilePath(name: string): string {
  return isSafeRelativePath(name) && name.split("/").length <= 2 ? name : basename(name);
}

function safeDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
