// `ollmlx rm MODEL...`: unload the first (if loaded), then delete each (DELETE /api/delete), as cmd.go DeleteHandler.
import type { Client } from "./client.ts";
import { loadOrUnload } from "./stop.ts";

export async function rm(client: Client, models: string[]): Promise<number> {
  try {
    await loadOrUnload(client, models[0]!, 0);
  } catch (error) {
    if (!(error as Error).message.toLowerCase().includes("not found")) console.error(`Warning: unable to stop model '${models[0]}'`);
  }
  for (const model of models) {
    await client.delete({ model });
    console.log(`deleted '${model}'`);
  }
  return 0;
}
