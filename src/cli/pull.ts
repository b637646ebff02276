// `ollmlx pull MODEL` (POST /api/pull): a spinner per status, a bar per layer, "success".
import type { Client } from "./client.ts";
import { Progress, shortDigest, StatusLines, type ProgressResponse } from "./progress.ts";

export async function pullModel(client: Client, model: string, insecure = false): Promise<void> {
  const progress = new Progress();
  const lines = new StatusLines(progress, (p) => `pulling ${shortDigest(p.digest!)}:`, true);
  try {
    await client.stream<ProgressResponse>("/api/pull", { model, insecure: insecure || undefined }, lines.add);
  } finally {
    progress.stop();
  }
}

export async function pull(client: Client, [model]: string[], flags: Map<string, string>): Promise<number> {
  await pullModel(client, model!, flags.get("insecure") === "true");
  return 0;
}
