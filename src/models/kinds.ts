// Which architectures ollmlx runs, and which of them are embedding models (served by /api/embed, refused by
// generate/chat). Plain data, no MLX: the server process reads it (pulls refuse what no runner could load,
// /api/show's capabilities), the runner to pick the loader; models/registry.ts maps each name to its module.

/** config.json model_type of the text models (models/registry.ts has a builder for each: the compiler checks) */
export const CAUSAL_ARCHITECTURES = [
  "llama", "mistral", "qwen2", "qwen3", "phi3", "gemma2", "gemma3_text", "qwen3_moe", "olmo2", "starcoder2", "granite",
  "smollm3", "cohere2", "mixtral", "ministral3",
  "deepseek_v2", "deepseek_v3", "glm4_moe",
  "gpt_oss", "gemma4_text",
  "lfm2", "qwen3_5", "qwen3_5_moe",
] as const;
export type CausalArchitecture = (typeof CAUSAL_ARCHITECTURES)[number];

/** What config.json's model_type may say: the text models, and the wrappers whose text model is one (models/load.ts). */
export const SUPPORTED_ARCHITECTURES: readonly string[] = [...CAUSAL_ARCHITECTURES, "gemma3", "mistral3", "gemma4"];

/** config.json model_type / GGUF general.architecture (llama.cpp spells nomic-bert with a dash) of the encoders */
export const EMBEDDING_ARCHITECTURES: ReadonlySet<string> = new Set(["bert", "xlm-roberta", "nomic_bert", "nomic-bert"]);

export function isEmbeddingArchitecture(arch: string | undefined): boolean {
  return arch !== undefined && EMBEDDING_ARCHITECTURES.has(arch);
}
