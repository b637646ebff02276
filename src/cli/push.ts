// `ollmlx push MODEL` (POST /api/push): the same progress lines as pull, "pushing abc123def456".
import type { Client } from "./client.ts";
import { Progress, StatusLines, type ProgressResponse } from "./progress.ts";

export async function push(client: Client, [model]: string[], flags: Map<string, string>): Promise<number> {
  const progress = new Progress();
  const lines = new StatusLines(progress, (p) => p.status || `pushing ${p.digest!.slice(7, 19)}...`);
  try {
    await client.stream<ProgressResponse>("/api/push", { model, insecure: flags.get("insecure") === "true" || undefined }, lines.add);
  } finally {
    progress.stop();
  }
  // Ollama points at the model's page when it went to ollama.com (a name with a namespace and no host).
  if (/^[^/.:]+\/[^/]+$/.test(model!)) console.log(`\nYou can find your model at:\n\n\thttps://ollama.com/${model}`);
  return 0;
}
