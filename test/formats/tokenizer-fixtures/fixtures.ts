// Test fixtures for src/formats/tokenizer: real tokenizer files (some gzipped to stay small),
// unpacked into a temp directory so both our loader and the Python oracle read the same files.
import { existsSync, mkdtempSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { oraclePath } from "../../oracle.ts";

const FIXTURES = import.meta.dir;
const ORACLE_PATH = oraclePath();

/**
 * qwen3-mini: Qwen3's tokenizer.json cut to its first 6,000 merges (byte-level BPE) + its config.
 * llama2: a SentencePiece-style BPE with byte fallback + LlamaTokenizer config.
 * gemma3, llama3_1: tokenizer_config.json only (their chat templates).
 */
export type FixtureName = "qwen3-mini" | "llama2" | "gemma3" | "llama3_1";

const unpacked = new Map<FixtureName, string>();

export async function fixtureDir(name: FixtureName): Promise<string> {
  const cached = unpacked.get(name);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), `ollmlx-tok-${name}-`));
  for (const file of await readdir(join(FIXTURES, name))) {
    const bytes = new Uint8Array(await Bun.file(join(FIXTURES, name, file)).arrayBuffer());
    if (file.endsWith(".gz")) await Bun.write(join(dir, file.slice(0, -3)), Bun.gunzipSync(bytes));
    else await Bun.write(join(dir, file), bytes);
  }
  unpacked.set(name, dir);
  return dir;
}

export async function fixtureJson<T>(name: FixtureName, file: string): Promise<T> {
  return (await Bun.file(join(await fixtureDir(name), file)).json()) as T;
}


export interface OracleRequest {
  dir: string;
  chats?: { messages: unknown[]; tools?: unknown[]; add_generation_prompt?: boolean; kwargs?: Record<string, unknown> }[];
  encode?: string[];
  detokenize?: number[][];
}

export interface OracleResponse {
  detokenizer: string;
  eos_token_ids: number[];
  chats: string[];
  encode: { ids: number[]; ids_no_special: number[]; decoded: string; decoded_skip: string }[];
  detokenize: { segments: string[]; decoded: string }[];
}

export async function runOracle(request: OracleRequest): Promise<OracleResponse> {
  const proc = Bun.spawn(["python3", join(FIXTURES, "oracle.py")], {
    env: { ...process.env, PYTHONPATH: ORACLE_PATH },
    stdin: new Blob([JSON.stringify(request)]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`oracle failed (${code}): ${stderr}`);
  return JSON.parse(stdout) as OracleResponse;
}
