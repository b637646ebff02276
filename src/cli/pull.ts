// `ollmlx pull MODEL` (POST /api/pull): a spinner per status, a bar per layer, "success".
import type { Client } from "./client.ts";
import { Progress, shortDigest, StatusLines } from "./progress.ts";

export async function pullModel(client: Client, model: string, insecure = false): Promise<void> {
  const progress = new Progress();
  const lines = new StatusLines(progress, (p) => `pulling ${shortDigest(p.digest!)}:`, true);
  try {
    for await (const p of client.pull({ model, insecure: insecure || undefined })) lines.add(p);
  } finally {
    progress.stop();
  }
}

export async function pull(client: Client, [model]: string[], flags: Map<string, string>): Promise<number> {
  await pullModel(client, model!, flags.get("insecure") === "true");
  return 0;
}
