// The runner's embedding side: an embedding model instead of a causal one (one model per runner either way), and
// embed requests. Requests that wait in the runner's queue together run together: their inputs share padded
// batches (embedding.ts), and each request gets its own vectors back, or its own error.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isEmbeddingArchitecture } from "../models/kinds.ts";
import { readGguf } from "../formats/gguf/file.ts";
import { embedBatch, inputTokens, loadEncoderModel, planBatches, type LoadedEncoder } from "./embedding.ts";
import type { EmbedParams, ModelSpec } from "./protocol.ts";
import type { JobContext } from "./job.ts";

let encoder: LoadedEncoder | null = null;

/**
 * Whether the model to load is an embedding model: an encoder (config.json's model_type, the GGUF's architecture),
 * a sentence-transformers directory (modules.json: a decoder such as Qwen3-Embedding), or a GGUF with a pooling type.
 */
export function isEmbeddingSpec(spec: ModelSpec): boolean {
  if (spec.format === "gguf") {
    const md = readGguf(spec.path).metadata;
    const arch = String(md["general.architecture"] ?? "");
    return isEmbeddingArchitecture(arch) || md[`${arch}.pooling_type`] !== undefined;
  }
  if (existsSync(join(spec.path, "modules.json"))) return true;
  const config = join(spec.path, "config.json");
  if (!existsSync(config)) return false;
  try {
    return isEmbeddingArchitecture(String((JSON.parse(readFileSync(config, "utf8")) as { model_type?: unknown }).model_type));
  } catch {
    return false;
  }
}

export function loadedEncoder(): LoadedEncoder | null {
  return encoder;
}

export async function loadEmbeddingModel(id: number, spec: ModelSpec, ctx: JobContext): Promise<void> {
  encoder = await loadEncoderModel(spec.name, spec);
  ctx.emit({ type: "loaded", id, loadDurationNs: encoder.loadNs, contextLength: encoder.contextLength });
}

export interface EmbedJob {
  id: number;
  params: EmbedParams;
}

export interface EmbedContext {
  emit: JobContext["emit"];
  yieldToLoop: JobContext["yieldToLoop"];
  /** whether the server cancelled this request (its client went away) */
  cancelled(id: number): boolean;
}

/**
 * Every job ends with exactly one event: its embeddings, its error (`fail` maps an error to its event), or "cancelled".
 * Batches mix the jobs' rows; between batches the runner reads its channel, and a cancelled job's rows are dropped
 * from the batches still to run.
 */
export async function embed(jobs: readonly EmbedJob[], ctx: EmbedContext, fail: (ids: number[], err: unknown) => void): Promise<void> {
  const enc = encoder;
  if (!enc) return fail(jobs.map((j) => j.id), new Error("this runner serves no embedding model"));
  const accepted: { job: EmbedJob; rows: number[][] }[] = [];
  for (const job of jobs) {
    const limit = Math.max(1, Math.min(job.params.numCtx, enc.contextLength));
    try {
      accepted.push({ job, rows: job.params.inputs.map((input) => inputTokens(enc, input, limit, job.params.truncate)) });
    } catch (e) {
      fail([job.id], e);
    }
  }
  if (accepted.length === 0) return;
  // Every row of every job, and which job it belongs to.
  const rows = accepted.flatMap((a) => a.rows);
  const owner = accepted.flatMap((a, j) => a.rows.map(() => j));
  const vectors = new Array<Float32Array>(rows.length);
  const t0 = performance.now();
  try {
    for (const planned of planBatches(rows)) {
      const batch = planned.filter((i) => !ctx.cancelled(accepted[owner[i]!]!.job.id));
      if (batch.length === 0) continue;
      embedBatch(enc, batch.map((i) => rows[i]!)).forEach((v, k) => (vectors[batch[k]!] = v));
      await ctx.yieldToLoop();
    }
  } catch (e) {
    return fail(accepted.map((a) => a.job.id), e);
  }
  const promptNs = Math.round((performance.now() - t0) * 1e6);
  let at = 0;
  for (const { job, rows: own } of accepted) {
    const mine = vectors.slice(at, at + own.length);
    at += own.length;
    if (ctx.cancelled(job.id)) {
      ctx.emit({ type: "done", id: job.id, reason: "cancelled" });
      continue;
    }
    const embeddings = mine.map((v) => Array.from(v));
    const promptTokens = own.reduce((n, r) => n + r.length, 0);
    ctx.emit({ type: "embeddings", id: job.id, embeddings, promptTokens, promptNs });
  }
}
