// The wire format in one place: every request and response body of Ollama's native API and its OpenAI layer.
export * from "./go-json.ts";
export * from "./common.ts";
export * from "./options.ts";
export * from "./generate.ts";
export * from "./chat.ts";
export * from "./embed.ts";
export * from "./models.ts";
export * from "./openai.ts";
export * from "./anthropic.ts";
export * from "./responses.ts";
export * from "./finetune.ts";
