// Training rows in mlx-lm's JSONL formats, tokenized as the model reads them: {"messages": [...]} (chat, with
// "tools"), {"prompt", "completion"} (one user turn and the answer) through the model's chat template, {"text"}
// as plain text ending in EOS. With maskPrompt the loss counts only the last message (the completion): the row's
// offset is the length of the rest rendered with the generation prompt, as mlx-lm's datasets do.
import { applyChatTemplate, type ChatMessage } from "../formats/tokenizer/chat-template.ts";
import type { Tokenizer } from "../formats/tokenizer/tokenizer.ts";
import type { TrainRow } from "./lora.ts";

export class DatasetError extends Error {
  override name = "DatasetError";
}

type Row = Record<string, unknown>;

const isString = (v: unknown): v is string => typeof v === "string";

function messagesOf(row: Row, line: number): { messages: ChatMessage[]; tools?: unknown[] } {
  if (Array.isArray(row.messages)) {
    const messages = row.messages as ChatMessage[];
    if (messages.length === 0 || !messages.every((m) => m && isString(m.role))) throw new DatasetError(`line ${line}: "messages" must be a list of messages with a role`);
    return { messages, ...(Array.isArray(row.tools) ? { tools: row.tools } : {}) };
  }
  if (isString(row.prompt) && isString(row.completion)) {
    return {
      messages: [
        { role: "user", content: row.prompt },
        { role: "assistant", content: row.completion },
      ],
      ...(Array.isArray(row.tools) ? { tools: row.tools } : {}),
    };
  }
  throw new DatasetError(`line ${line}: a row needs "messages", "prompt" and "completion", or "text"`);
}

/** Rows (already parsed) as token rows; `line` numbers in errors count from 1. */
export function tokenizeRows(tokenizer: Tokenizer, rows: readonly unknown[], maskPrompt: boolean): TrainRow[] {
  return rows.map((raw, i) => {
    const line = i + 1;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new DatasetError(`line ${line}: a row must be a JSON object`);
    const row = raw as Row;
    if (isString(row.text)) {
      if (maskPrompt) throw new DatasetError(`line ${line}: mask_prompt needs chat or prompt/completion rows, not "text"`);
      const tokens = tokenizer.encode(row.text);
      const eos = tokenizer.eosTokenId;
      if (eos !== null && tokens.at(-1) !== eos) tokens.push(eos);
      return { tokens, offset: 0 };
    }
    const { messages, tools } = messagesOf(row, line);
    const render = (msgs: ChatMessage[], addGenerationPrompt: boolean) =>
      tokenizer.encode(applyChatTemplate(tokenizer, msgs, { addGenerationPrompt, ...(tools ? { tools: tools as never } : {}) }), { addSpecialTokens: false });
    const tokens = render(messages, false);
    const offset = maskPrompt ? render(messages.slice(0, -1), messages.at(-1)!.role === "assistant").length : 0;
    return { tokens, offset };
  });
}

/** JSONL text → rows; a line that is not JSON is an error naming it. Blank lines are skipped. */
export function parseJsonl(text: string, file = "data"): unknown[] {
  const rows: unknown[] = [];
  text.split("\n").forEach((l, i) => {
    if (l.trim() === "") return;
    try {
      rows.push(JSON.parse(l));
    } catch (e) {
      throw new DatasetError(`${file} line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  });
  return rows;
}
