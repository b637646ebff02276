// A client of the Hugging Face Hub, the parts huggingface_hub uses to download a repo (hf_api.py model_info,
// file_download.py hf_hub_download):
//   GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true  → {sha, siblings: [{rfilename, size, blobId, lfs?: {sha256, size}}]}
//   GET {endpoint}/{repo}/resolve/{commit}/{filename}            → the file; LFS files redirect to a signed CDN URL
// HF_ENDPOINT (default https://huggingface.co) and HF_TOKEN (Authorization: Bearer) are honoured as huggingface_hub does.
import { createHash } from "node:crypto";
import type { Env } from "../config/env.ts";
import { HF_ENDPOINT } from "../config/settings.ts";
import { isSafeRelativePath, MODULE_FOLDER } from "./names.ts";
import { PullError, UnsupportedModelError } from "./pull-errors.ts";
import { DEFAULT_STALL_MS, httpError, httpGet, readAll } from "./pull-http.ts";

export interface HfSibling {
  rfilename: string;
  size?: number;
  /** the git blob id: sha1("blob <size>\0" + bytes) */
  blobId?: string;
  lfs?: { sha256: string; size: number; pointerSize?: number };
}

export interface HfRepoInfo {
  id: string;
  /** the commit the listing describes; files are then fetched at this commit so they belong together */
  sha: string;
  siblings: HfSibling[];
}

export const HF_DEFAULT_ENDPOINT = "https://huggingface.co";

export function hfEndpoint(env: Env): string {
  return (HF_ENDPOINT.read(env) ?? HF_DEFAULT_ENDPOINT).replace(/\/+$/, "");
}

/** git's object id of a file's bytes, which the Hub lists as `blobId` for every file. */
export function gitBlobId(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

/**
 * What is wrong with a listing, if anything: file names become store paths and link names, the commit and the LFS
 * sha256 become URLs and blob names, so a hostile or broken Hub is refused before anything is fetched.
 */
export function listingProblem(info: { sha: string; siblings: unknown[] }): string | undefined {
  if (!/^[0-9a-f]{40}$/.test(info.sha)) return `commit ${JSON.stringify(info.sha)} is not a git commit id`;
  for (const raw of info.siblings) {
    const s = raw as Partial<HfSibling> | null;
    if (!s || !isSafeRelativePath(s.rfilename)) return `file name ${JSON.stringify(s?.rfilename)} is not a safe relative path`;
    if (s.size !== undefined && (!Number.isSafeInteger(s.size) || s.size < 0)) return `${s.rfilename}: invalid size ${JSON.stringify(s.size)}`;
    if (s.lfs !== undefined) {
      if (typeof s.lfs?.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(s.lfs.sha256)) return `${s.rfilename}: sha256 ${JSON.stringify(s.lfs?.sha256)} is not 64 lowercase hex digits`;
      if (!Number.isSafeInteger(s.lfs.size) || s.lfs.size < 0) return `${s.rfilename}: invalid size ${JSON.stringify(s.lfs.size)}`;
    }
  }
  return undefined;
}

export class HfClient {
  /** a pull gives up a connection that sends nothing for this long (OLLMLX_PULL_STALL_TIMEOUT) */
  stallMs = DEFAULT_STALL_MS;

  constructor(
    readonly endpoint: string,
    /** org/repo, as the Hub spells it */
    readonly repo: string,
    private readonly token: string | undefined,
    private readonly signal?: AbortSignal,
  ) {}

  headers(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  resolveUrl(commit: string, filename: string): string {
    return `${this.endpoint}/${this.repo}/resolve/${commit}/${filename.split("/").map(encodeURIComponent).join("/")}`;
  }

  async info(revision = "main"): Promise<HfRepoInfo> {
    const url = `${this.endpoint}/api/models/${this.repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const res = await httpGet(url, this.headers(), this.signal, this.stallMs);
    // The Hub answers 401 for a repo that does not exist as well as for a gated or private one.
    if (res.status === 401 || res.status === 404) {
      await res.body?.cancel();
      const hint = this.token ? "" : " (a gated or private repo needs HF_TOKEN)";
      throw new PullError(`pull model manifest: Hugging Face repo "${this.repo}" (revision ${revision}) not found${hint}`);
    }
    if (!res.ok) throw new PullError(`pull model manifest: ${(await httpError(url, res)).message}`);
    let body: Partial<HfRepoInfo>;
    try {
      body = JSON.parse(new TextDecoder().decode(await readAll(res, url, this.stallMs, this.signal))) as Partial<HfRepoInfo>;
    } catch (error) {
      if (error instanceof PullError || this.signal?.aborted) throw error;
      body = {};
    }
    if (typeof body.sha !== "string" || !Array.isArray(body.siblings)) {
      throw new PullError(`pull model manifest: ${url} did not answer with a repo listing`);
    }
    const problem = listingProblem({ sha: body.sha, siblings: body.siblings });
    if (problem) throw new PullError(`pull model manifest: Hugging Face repo "${this.repo}" sent an unsafe listing: ${problem}`);
    return { id: body.id ?? this.repo, sha: body.sha, siblings: body.siblings };
  }

  /** A small (non-LFS) file, whole, checked against its listed size and git blob id. */
  async fetchSmall(commit: string, file: HfSibling): Promise<Uint8Array> {
    const url = this.resolveUrl(commit, file.rfilename);
    const res = await httpGet(url, this.headers(), this.signal, this.stallMs);
    if (!res.ok) throw await httpError(url, res);
    const bytes = new Uint8Array(await readAll(res, url, this.stallMs, this.signal));
    if (file.size !== undefined && bytes.length !== file.size) {
      throw new PullError(`${file.rfilename}: got ${bytes.length} bytes, the Hub lists ${file.size}`);
    }
    if (file.blobId && gitBlobId(bytes) !== file.blobId) {
      throw new PullError(`${file.rfilename}: content does not match the Hub's blob id ${file.blobId}`);
    }
    return bytes;
  }
}

const isModuleFile = (f: string) => f.split("/").length === 2 && MODULE_FOLDER.test(f.split("/")[0]!) && /\/(config\.json|model\.safetensors)$/.test(f);

/**
 * The files of an MLX model (mlx-community layout) to install: weights, index, config, tokenizer, chat template; and
 * a sentence-transformers module's config and weights (1_Pooling/config.json, 2_Dense/model.safetensors), but no
 * other folder (onnx/, openvino/).
 */
export function mlxFiles(siblings: readonly HfSibling[]): HfSibling[] {
  const wanted = (f: string) =>
    (!f.includes("/") && /\.(safetensors|json|jinja|model|tiktoken|txt)$/.test(f) && !/^(README|LICENSE)/i.test(f)) || isModuleFile(f);
  return siblings.filter((s) => wanted(s.rfilename));
}

/** Quantization names as GGUF file names carry them: Q4_K_M, IQ3_XS, Q8_0, BF16, F16. */
const GGUF_QUANT = /[-._]((?:I?Q\d[A-Z0-9_]*?)|BF16|F16|F32)(?:-\d{5}-of-\d{5})?\.gguf$/i;

export function ggufQuant(filename: string): string | undefined {
  return GGUF_QUANT.exec(filename)?.[1]?.toUpperCase();
}

/**
 * The GGUF file a tag names, as Ollama's hf.co/<org>/<repo>:<quant> does: `latest` means Q4_K_M when there is one,
 * else the first GGUF file. Projector (mmproj) files are never the model.
 */
export function pickGguf(siblings: readonly HfSibling[], tag: string, repo: string): HfSibling {
  const ggufs = siblings.filter((s) => s.rfilename.endsWith(".gguf") && !/mmproj/i.test(s.rfilename)).sort((a, b) => a.rfilename.localeCompare(b.rfilename));
  const want = tag.toLowerCase() === "latest" ? "Q4_K_M" : tag.toUpperCase();
  const match = ggufs.filter((s) => ggufQuant(s.rfilename) === want);
  const chosen = match.length > 0 ? match : tag.toLowerCase() === "latest" ? ggufs.slice(0, 1) : [];
  if (chosen.length === 0) {
    const available = [...new Set(ggufs.map((s) => ggufQuant(s.rfilename)).filter(Boolean))].join(", ");
    throw new UnsupportedModelError(`hf.co/${repo} has no GGUF file for quantization "${tag}" (available: ${available || "none"})`);
  }
  const file = chosen[0]!;
  if (/-\d{5}-of-\d{5}\.gguf$/.test(file.rfilename)) {
    throw new UnsupportedModelError(`${file.rfilename}: GGUF files split in parts are not supported yet`);
  }
  return file;
}
