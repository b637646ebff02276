// `ollmlx cp SOURCE DESTINATION` (POST /api/copy).
import type { Client } from "./client.ts";

export async function cp(client: Client, [source, destination]: string[]): Promise<number> {
  await client.copy({ source: source!, destination: destination! });
  console.log(`copied '${source}' to '${destination}'`);
  return 0;
}
