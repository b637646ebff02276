// `ollmlx stop MODEL`: an empty generate with keep_alive 0 unloads it (cmd.go StopHandler).
import type { Think } from "../schemas/index.ts";
import { ApiError, drain, type Client } from "./client.ts";

/** loadOrUnloadModel: an empty prompt loads a model, or with keep_alive 0 unloads it. */
export async function loadOrUnload(client: Client, model: string, keepAlive?: string | number, think?: Think): Promise<void> {
  await drain(client.generate({ model, keep_alive: keepAlive, think }));
}

export async function stop(client: Client, [model]: string[]): Promise<number> {
  try {
    await loadOrUnload(client, model!, 0);
  } catch (error) {
    if (error instanceof ApiError && error.message.includes("not found")) throw new Error(`couldn't find model "${model}" to stop`);
    throw error;
  }
  return 0;
}
