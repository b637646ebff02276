// `ollmlx list [prefix]`: the local models (GET /api/tags) as Ollama's NAME/ID/SIZE/MODIFIED table.
import type { Client } from "./client.ts";
import { humanBytes, humanTime, renderTable } from "./format.ts";

export async function listModels(client: Client, prefix?: string): Promise<string> {
  const { models } = await client.list();
  const rows = models
    .filter((m) => !prefix || m.name.toLowerCase().startsWith(prefix.toLowerCase()))
    .map((m) => [m.name, m.digest.slice(0, 12), m.remote_model ? "-" : humanBytes(m.size), humanTime(m.modified_at, "Never")]);
  return renderTable(rows, ["NAME", "ID", "SIZE", "MODIFIED"]);
}

export async function list(client: Client, args: string[]): Promise<number> {
  process.stdout.write(await listModels(client, args[0]));
  return 0;
}
