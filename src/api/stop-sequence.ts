// The stop string that ended a reply rides on its done chunk under a symbol: JSON (Ollama's wire, which has no
// field for it) never shows it, and object spreads (routes/aggregate.ts) keep it for the Anthropic adapter's
// stop_reason "stop_sequence".
export const STOP_SEQUENCE: unique symbol = Symbol("stop sequence");

export type WithStopSequence = { [STOP_SEQUENCE]?: string };
