// The ids Ollama mints: tool calls (server/routes.go), and the OpenAI layer's response ids (middleware/openai.go).

const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyz0123456789";

/** "call_" + 8 random [a-z0-9], as Ollama names each parsed tool call. */
export function toolCallId(): string {
  let suffix = "";
  for (let i = 0; i < 8; i++) suffix += ALPHANUMERIC[Math.floor(Math.random() * ALPHANUMERIC.length)];
  return `call_${suffix}`;
}

/** Ollama uses rand.Intn(999): small numbers, not unique; clients only echo them. */
function smallRandom(): number {
  return Math.floor(Math.random() * 999);
}

/** "chatcmpl-<0..998>" for /v1/chat/completions. */
export function chatCompletionId(): string {
  return `chatcmpl-${smallRandom()}`;
}

/** "cmpl-<0..998>" for /v1/completions. */
export function completionId(): string {
  return `cmpl-${smallRandom()}`;
}
