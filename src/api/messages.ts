// Native chat messages as api.Message.UnmarshalJSON leaves them: the role lower-cased ("User" → "user").
import type { Message } from "../schemas/index.ts";

export function normalizeRoles<T extends Pick<Message, "role">>(messages: readonly T[]): T[] {
  return messages.map((message) => ({ ...message, role: message.role.toLowerCase() }));
}
