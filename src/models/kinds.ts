// Which architectures are embedding models (served by /api/embed, refused by generate/chat). Plain data, no MLX:
// the server process reads it for /api/show's capabilities, the runner to pick the loader.

/** config.json model_type / GGUF general.architecture (llama.cpp spells nomic-bert with a dash) of the encoders */
export const EMBEDDING_ARCHITECTURES: ReadonlySet<string> = new Set(["bert", "xlm-roberta", "nomic_bert", "nomic-bert"]);

export function isEmbeddingArchitecture(arch: string | undefined): boolean {
  return arch !== undefined && EMBEDDING_ARCHITECTURES.has(arch);
}
