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

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function randomOf(alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

/** "msg_" + 24 base62 characters, the shape of Anthropic's message ids. */
export function anthropicMessageId(): string {
  return `msg_${randomOf(BASE62, 24)}`;
}

/** "resp_" + 24 random [a-z0-9]: unique enough to be the key of the response store. */
export function responseId(): string {
  return `resp_${randomOf(ALPHANUMERIC, 24)}`;
}

/** An output item's id in a Responses body: "msg_", "fc_" or "rs_" + 24 random [a-z0-9]. */
export function responseItemId(prefix: "msg" | "fc" | "rs"): string {
  return `${prefix}_${randomOf(ALPHANUMERIC, 24)}`;
}
