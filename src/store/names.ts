// Model names as Ollama parses them: [host/][namespace/]model[:tag], defaults registry.ollama.ai/library/…:latest.
// Hugging Face names (hf.co/org/repo[:quant], or org/repo for an mlx-community style repo) are names too.

export const DEFAULT_HOST = "registry.ollama.ai";
export const DEFAULT_NAMESPACE = "library";
export const DEFAULT_TAG = "latest";

export interface ModelName {
  host: string;
  namespace: string;
  model: string;
  tag: string;
}

export class InvalidModelNameError extends Error {
  override name = "InvalidModelNameError";
}

const HOST = /^[A-Za-z0-9_][A-Za-z0-9._:-]{0,349}$/;
const NAMESPACE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$/;
const PART = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,79}$/;

export function parseModelName(raw: string): ModelName {
  let s = raw.trim().replace(/^[a-z]+:\/\//, "");
  const at = s.indexOf("@");
  if (at >= 0) s = s.slice(0, at);
  let tag = DEFAULT_TAG;
  const lastSlash = s.lastIndexOf("/");
  const colon = s.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = s.slice(colon + 1);
    s = s.slice(0, colon);
  }
  const parts = s.split("/");
  let host = DEFAULT_HOST;
  let namespace = DEFAULT_NAMESPACE;
  let model: string;
  if (parts.length === 1) model = parts[0]!;
  else if (parts.length === 2) [namespace, model] = parts as [string, string];
  else if (parts.length === 3) [host, namespace, model] = parts as [string, string, string];
  else throw new InvalidModelNameError(`invalid model name "${raw}"`);
  if (!HOST.test(host) || !NAMESPACE.test(namespace) || !PART.test(model) || !PART.test(tag)) {
    throw new InvalidModelNameError(`invalid model name "${raw}"`);
  }
  return { host, namespace, model, tag };
}

/** Ollama's display form: default host and namespace omitted, tag always shown. */
export function displayName(n: ModelName): string {
  if (n.host === DEFAULT_HOST && n.namespace === DEFAULT_NAMESPACE) return `${n.model}:${n.tag}`;
  if (n.host === DEFAULT_HOST) return `${n.namespace}/${n.model}:${n.tag}`;
  return `${n.host}/${n.namespace}/${n.model}:${n.tag}`;
}

export function sameName(a: ModelName, b: ModelName): boolean {
  return displayName(a).toLowerCase() === displayName(b).toLowerCase();
}

/**
 * A file name a remote may give a layer or a repo file: one path segment, no `..`, no separator of any OS, no
 * control character (NUL ends a C path). What a hostile server sends is checked with it before it nears the disk.
 */
export function isSafeFileName(name: unknown): name is string {
  return typeof name === "string" && name !== "" && name !== "." && name !== ".." && name.length <= 255 && !/[/\\\x00-\x1f\x7f]/.test(name);
}

/** sentence-transformers keeps each module's config in a numbered folder: 1_Pooling/config.json, 2_Dense/config.json */
export const MODULE_FOLDER = /^\d+_[A-Za-z]+$/;

/** A relative path of safe file names joined by `/` ("subdir/file.json"; never "/abs", "a/../b" or "a//b"). */
export function isSafeRelativePath(path: unknown): path is string {
  return typeof path === "string" && path.split("/").every(isSafeFileName);
}
