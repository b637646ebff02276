// Where a pull goes, from the model name alone:
//   hf.co/<org>/<repo>[:quant] and huggingface.co/<org>/<repo>[:quant]   → the Hugging Face Hub (HF_ENDPOINT)
//   <org>/<repo>[:tag] whose org is an MLX publisher on Hugging Face       → the Hugging Face Hub too
//   anything else, [host/][namespace/]model[:tag]                         → that Ollama registry (default registry.ollama.ai)
// The model is stored under the name as given (parseModelName), so `run` finds it by the same name.
import { InvalidModelNameError, parseModelName, DEFAULT_HOST, type ModelName } from "./names.ts";
import { hfEndpoint } from "./hf.ts";
import { InsecureProtocolError } from "./pull-errors.ts";
import type { PullSource } from "./pull-types.ts";
import type { Env } from "../config/env.ts";

/** Hosts whose names are Hugging Face repos. */
export const HF_HOSTS = ["hf.co", "huggingface.co"] as const;

/** Hugging Face organisations that publish MLX models: a bare `<org>/<repo>` of theirs is a Hugging Face repo. */
export const HF_MLX_ORGS = ["mlx-community", "lmstudio-community"] as const;

export interface ResolveOptions {
  insecure?: boolean;
  env?: Env;
}

function explicitNamespace(raw: string): boolean {
  return raw.replace(/^[a-z]+:\/\//i, "").replace(/[:@][^/]*$/, "").includes("/");
}

export function resolvePullSource(raw: string, options: ResolveOptions = {}): PullSource {
  const env = options.env ?? process.env;
  const scheme = /^([a-z]+):\/\//i.exec(raw.trim())?.[1]?.toLowerCase();
  if (scheme && scheme !== "http" && scheme !== "https") throw new InvalidModelNameError(`invalid model name "${raw}"`);
  if (scheme === "http" && !options.insecure) throw new InsecureProtocolError();
  const name: ModelName = parseModelName(raw);
  const host = name.host.toLowerCase();
  const org = name.namespace.toLowerCase();
  const isHf =
    (HF_HOSTS as readonly string[]).includes(host) ||
    (host === DEFAULT_HOST && explicitNamespace(raw) && (HF_MLX_ORGS as readonly string[]).includes(org));
  if (isHf) return { kind: "hf", endpoint: hfEndpoint(env), repo: `${name.namespace}/${name.model}`, name };
  // Ollama's makeRequest: `insecure` turns https into http.
  const base = `${scheme ?? (options.insecure ? "http" : "https")}://${name.host}`;
  return { kind: "registry", base, name };
}
