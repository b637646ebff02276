// `ollmlx ps [prefix]`: the loaded models (GET /api/ps) as Ollama's NAME/ID/SIZE/PROCESSOR/CONTEXT/UNTIL table.
import type { Client } from "./client.ts";
import { humanBytes, humanTime, renderTable } from "./format.ts";

/** Where the weights live: all in GPU memory, all in system memory, or split (cmd.go ListRunningHandler). */
export function processor(size: number, sizeVram: number): string {
  if (sizeVram === 0) return "100% CPU";
  if (sizeVram === size) return "100% GPU";
  if (sizeVram > size || size === 0) return "Unknown";
  const cpu = Math.round(((size - sizeVram) / size) * 100);
  return `${cpu}%/${100 - cpu}% CPU/GPU`;
}

export async function ps(client: Client, args: string[]): Promise<number> {
  const { models } = await client.ps();
  const now = Date.now();
  const rows = models
    .filter((m) => !args[0] || m.name.startsWith(args[0]))
    .map((m) => [
      m.name,
      m.digest.slice(0, 12),
      humanBytes(m.size),
      processor(m.size, m.size_vram),
      String(m.context_length ?? 0),
      Date.parse(m.expires_at) < now ? "Stopping..." : humanTime(m.expires_at, "Never", now),
    ]);
  process.stdout.write(renderTable(rows, ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]));
  return 0;
}
