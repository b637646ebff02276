// What a pull is made of, as types: where it goes (a source per kind), what each source's pull needs, and what it
// hands back. A leaf: pull-source.ts decides the source, pull-hf.ts and pull-registry.ts pull from one.
import type { Env } from "../config/env.ts";
import type { ModelName } from "./names.ts";
import type { Manifest } from "./store.ts";

export interface HfPullSource {
  kind: "hf";
  endpoint: string;
  /** org/repo */
  repo: string;
  /** the name the model is stored under (the tag is the GGUF quantization, or latest) */
  name: ModelName;
}

export interface RegistryPullSource {
  kind: "registry";
  /** scheme://host */
  base: string;
  name: ModelName;
}

export type PullSource = HfPullSource | RegistryPullSource;

/** What every source's pull needs besides the store. */
export interface PullContext {
  signal?: AbortSignal;
  env: Env;
}

/** A source's pull once every blob is in the store: writing the manifest is left to the caller, as the last step. */
export interface Pulled {
  write(): Manifest;
}
