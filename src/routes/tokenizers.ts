// The server's copy of a model's tokenizer, the same one its runner loads (engine/completion.ts): the server renders
// the Jinja chat template with its special tokens and counts tokens to fit a conversation into num_ctx, as Ollama's
// server tokenizes with the model's vocabulary in chatPrompt. Pure TypeScript: the server process never loads MLX.
import { readGguf } from "../formats/gguf/file.ts";
import { ggufTokenizer } from "../formats/tokenizer/from-gguf.ts";
import { Tokenizer } from "../formats/tokenizer/tokenizer.ts";
import type { Store, StoredModel } from "../store/store.ts";

// A tokenizer costs a parse of tokenizer.json (or a GGUF vocabulary): the few models in use keep theirs.
const KEEP = 4;
const cache = new Map<string, Promise<Tokenizer>>();

/** The model's tokenizer, loaded once and kept while the model is among the last few used. */
export function modelTokenizer(store: Store, model: StoredModel): Promise<Tokenizer> {
  const { format, path } = store.modelPath(model);
  // a GGUF blob is named by its digest and an MLX link folder by its manifest's: the key changes with the content
  const key = `${format}:${path}`;
  let tokenizer = cache.get(key);
  if (tokenizer) cache.delete(key); // re-inserted below: the Map's order is the order of use
  else tokenizer = format === "gguf" ? Promise.resolve().then(() => ggufTokenizer(readGguf(path).metadata)) : Tokenizer.fromFiles(path);
  cache.set(key, tokenizer);
  // a load that failed is not kept: the next request tries again (and reports its own failure)
  tokenizer.catch(() => cache.get(key) === tokenizer && cache.delete(key));
  while (cache.size > KEEP) cache.delete(cache.keys().next().value!);
  return tokenizer;
}
