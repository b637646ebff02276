// `ollmlx push MODEL` (POST /api/push), as Ollama's cmd.go PushHandler: a spinner per status, a bar per blob labelled
// with its status ("pushing abc123def456"), then where the model can be found. A registry that refuses the push
// becomes Ollama's advice to push under a namespace the user owns.
import { ApiError, type Client } from "./client.ts";
import { Progress, StatusLines } from "./progress.ts";
import { displayName, parseModelName, type ModelName } from "../store/names.ts";

const NOT_AUTHORIZED = "you are not authorized to push to this namespace, create the model under a namespace you own";

function isOllamaHost(n: ModelName): boolean {
  return /\.ollama\.(ai|com)$/i.test(n.host);
}

/** Ollama's destination line: the model's page on ollama.com, or the full name on any other registry. */
function destination(raw: string): string {
  const n = parseModelName(raw);
  if (isOllamaHost(n)) return `https://ollama.com/${displayName(n).replace(/:latest$/, "")}`;
  return `${n.host}/${n.namespace}/${n.model}:${n.tag}`;
}

export async function push(client: Client, [model]: string[], flags: Map<string, string>): Promise<number> {
  const progress = new Progress();
  const lines = new StatusLines(progress, (p) => p.status || `pushing ${p.digest!.slice(7, 19)}...`);
  try {
    for await (const p of client.push({ model, insecure: flags.get("insecure") === "true" || undefined })) lines.add(p);
  } catch (error) {
    const message = error instanceof Error ? error.message.toLowerCase() : "";
    if (error instanceof ApiError && (message.includes("access denied") || message.includes("unauthorized"))) {
      throw new ApiError(NOT_AUTHORIZED, error.status);
    }
    throw error;
  } finally {
    progress.stop();
  }
  console.log(`\nYou can find your model at:\n\n\t${destination(model!)}`);
  return 0;
}
