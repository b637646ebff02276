// Wire-format helpers the routes call: errors and their statuses, streaming, keep_alive, options, the OpenAI layer.
export * from "./errors.ts";
export * from "./ndjson.ts";
export * from "./duration.ts";
export * from "./options.ts";
export * from "./openai.ts";
export * from "./time.ts";
export * from "./ids.ts";
export * from "./validation.ts";
export * from "./messages.ts";
