// What the store and /api/show say about a GGUF model, from its metadata (Ollama fills the same fields).
import type { ModelConfigBlob } from "../../store/store.ts";
import { detectThinkingTags } from "../tools/thinking.ts";
import { readGguf, type GgufFile, type GgufValue } from "./file.ts";

// llama.cpp's LLAMA_FTYPE_MOSTLY_* names (general.file_type)
const FILE_TYPES: Record<number, string> = {
  0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M",
  13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
};

/** "135M", "1.2B": Ollama's parameter_size. */
export function parameterSize(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${Math.round(count / 1e6)}M`;
  return `${Math.round(count / 1e3)}K`;
}

function asNumber(v: GgufValue | undefined): number | undefined {
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
}

export function ggufConfigBlob(fileOrPath: GgufFile | string): ModelConfigBlob {
  const f = typeof fileOrPath === "string" ? readGguf(fileOrPath) : fileOrPath;
  const md = f.metadata;
  const arch = String(md["general.architecture"] ?? "");
  const params = f.tensors.reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
  const fileType = asNumber(md["general.file_type"]);
  const template = typeof md["tokenizer.chat_template"] === "string" ? (md["tokenizer.chat_template"] as string) : "";
  // as Ollama (images.go): a pooling type makes an embedding model, and only that
  const capabilities = md[`${arch}.pooling_type`] !== undefined ? ["embedding"] : ["completion"];
  if (capabilities[0] === "completion" && /tools|tool_call/.test(template)) capabilities.push("tools");
  if (capabilities[0] === "completion" && detectThinkingTags(template)) capabilities.push("thinking");
  return {
    model_format: "gguf",
    model_family: arch,
    model_families: arch ? [arch] : [],
    model_type: parameterSize(params),
    file_type: fileType !== undefined ? (FILE_TYPES[fileType] ?? `type ${fileType}`) : "",
    architecture: arch,
    context_length: asNumber(md[`${arch}.context_length`]),
    embedding_length: asNumber(md[`${arch}.embedding_length`]),
    capabilities,
  };
}
