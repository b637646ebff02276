// A sentence-transformers model directory: modules.json lists the pipeline (Transformer → Pooling → Dense… →
// Normalize), 1_Pooling/config.json says how token states become one vector, each N_Dense/ holds a projection of that
// vector (EmbeddingGemma's 768 → 3072 → 768). A plain Hugging Face encoder directory (no modules.json) pools by mean,
// as sentence-transformers does when it wraps one.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Pooling } from "../models/encoder.ts";

export interface SentenceTransformersConfig {
  pooling: Pooling;
  /** a Normalize module ends the pipeline (the server normalizes /api/embed's vectors either way, as Ollama) */
  normalize: boolean;
  /** sentence_bert_config.json's max_seq_length, when there is one */
  maxSeqLength: number | null;
  /** the Dense modules after pooling, in pipeline order */
  dense: DenseModule[];
}

/** What sentence-transformers' Dense applies after its linear layer (its default is Tanh). */
export type DenseActivation = "identity" | "tanh";

export interface DenseModule {
  /** the module's folder (2_Dense): its model.safetensors holds linear.weight (and linear.bias) */
  path: string;
  activation: DenseActivation;
}

const ACTIVATIONS: Record<string, DenseActivation> = {
  "torch.nn.modules.linear.Identity": "identity",
  "torch.nn.modules.activation.Tanh": "tanh",
};

export class SentenceTransformersError extends Error {
  override name = "SentenceTransformersError";
}

interface ModuleEntry {
  path: string;
  type: string;
}

const MODULE = "sentence_transformers.models.";

function readJson<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (e) {
    throw new SentenceTransformersError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** 1_Pooling/config.json's flags as one mode; the modes ollmlx does not run are a load error. */
export function poolingFromConfig(cfg: Record<string, unknown>): Pooling {
  const on = (k: string) => cfg[k] === true;
  const modes: Pooling[] = [];
  if (on("pooling_mode_mean_tokens")) modes.push("mean");
  if (on("pooling_mode_cls_token")) modes.push("cls");
  if (on("pooling_mode_lasttoken")) modes.push("last");
  const other = ["pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens"].filter(on);
  if (other.length > 0 || modes.length !== 1) {
    throw new SentenceTransformersError(`pooling ${JSON.stringify(cfg)} is not supported (exactly one of mean, cls, lasttoken is)`);
  }
  return modes[0]!;
}

export function readSentenceTransformers(dir: string): SentenceTransformersConfig {
  const seq = readJson<{ max_seq_length?: number }>(join(dir, "sentence_bert_config.json"));
  const maxSeqLength = typeof seq?.max_seq_length === "number" ? seq.max_seq_length : null;
  const modules = readJson<ModuleEntry[]>(join(dir, "modules.json"));
  if (!modules) return { pooling: "mean", normalize: false, maxSeqLength, dense: [] };
  let pooling: Pooling | null = null;
  let normalize = false;
  const dense: DenseModule[] = [];
  for (const m of modules) {
    const kind = m.type.startsWith(MODULE) ? m.type.slice(MODULE.length) : m.type;
    if (kind === "Transformer") continue;
    if (kind === "Normalize") normalize = true;
    else if (kind === "Pooling") {
      const cfg = readJson<Record<string, unknown>>(join(dir, m.path, "config.json"));
      if (!cfg) throw new SentenceTransformersError(`modules.json names ${m.path} but it has no config.json`);
      pooling = poolingFromConfig(cfg);
    } else if (kind === "Dense") {
      const cfg = readJson<{ activation_function?: string }>(join(dir, m.path, "config.json"));
      if (!cfg) throw new SentenceTransformersError(`modules.json names ${m.path} but it has no config.json`);
      const fn = cfg.activation_function ?? "torch.nn.modules.activation.Tanh";
      const activation = ACTIVATIONS[fn];
      if (!activation) throw new SentenceTransformersError(`${m.path}: activation ${fn} is not supported (Identity and Tanh are)`);
      dense.push({ path: m.path, activation });
    } else throw new SentenceTransformersError(`sentence-transformers module ${m.type} is not supported yet`);
  }
  return { pooling: pooling ?? "mean", normalize, maxSeqLength, dense };
}
