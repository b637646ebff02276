// A model's tokenizer: @huggingface/tokenizers over tokenizer.json, plus what transformers and
// mlx-lm read around it (special tokens, chat template, the EOS set). See mlx-lm.md §2.7.
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { join } from "node:path";
import { asTransformersRuns } from "./transformers-compat.ts";
import type { TokenizerConfig, TokenizerJson } from "./tokenizer-json.ts";

export type { DecoderConfig, TokenizerConfig, TokenizerJson, TokenSpec } from "./tokenizer-json.ts";

export interface TokenizerExtras {
  /** A chat template that overrides the config's (chat_template.jinja, or a GGUF's tokenizer.chat_template). */
  chatTemplate?: string | null;
  /** eos_token_id from config.json / generation_config.json: an id or a list. */
  eosTokenId?: number | number[] | null;
}

export class TokenizerLoadError extends Error {
  override name = "TokenizerLoadError";
}

/** The named special tokens transformers exposes to chat templates (SPECIAL_TOKENS_ATTRIBUTES). */
const SPECIAL_TOKEN_KEYS = [
  "bos_token",
  "eos_token",
  "unk_token",
  "sep_token",
  "pad_token",
  "cls_token",
  "mask_token",
] as const;

/** Think markers mlx-lm looks for (`_infer_thinking`); their presence turns enable_thinking on by default. */
const THINK_PAIRS: [string, string][] = [
  ["<think>", "</think>"],
  ["<longcat_think>", "</longcat_think>"],
  ["<|think:start|>", "<|think:end|>"],
  ["<|channel>", "<channel|>"],
];

function tokenContent(spec: unknown): string | null {
  if (typeof spec === "string") return spec;
  if (spec && typeof spec === "object" && typeof (spec as { content?: unknown }).content === "string") {
    return (spec as { content: string }).content;
  }
  return null;
}

/** tokenizer_config.json's chat_template: a string, or a list of named templates ("default" wins). */
function configChatTemplate(config: TokenizerConfig): string | null {
  const t = config.chat_template;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return t.find((x) => x.name === "default")?.template ?? null;
  return null;
}

export class Tokenizer {
  /**
   * What is read later of tokenizer.json as it runs (after transformers' rewrites): its decoder (the detokenizer)
   * and added tokens (constrained decoding). The rest (a vocabulary and its merges: 70 MB of strings for Gemma's
   * 262,144 tokens) lives on only in the tokenizer built from it.
   */
  readonly json: Pick<TokenizerJson, "decoder" | "added_tokens">;
  readonly config: TokenizerConfig;
  readonly chatTemplate: string | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** mlx-lm's stop set: config/generation_config eos_token_id ∪ the tokenizer's eos token. */
  readonly eosTokenIds: ReadonlySet<number>;
  /** Named special tokens as strings, as transformers passes them to chat templates. */
  readonly specialTokens: Readonly<Record<string, string>>;
  readonly hasThinking: boolean;
  private readonly hf: HfTokenizer;
  /** distinct tokens and one past the highest id, counted once (the tokenizer holds the vocabulary itself) */
  private readonly distinct: number;
  private readonly limit: number;

  private constructor(json: TokenizerJson, config: TokenizerConfig, extras: TokenizerExtras) {
    this.config = config;
    const runs = asTransformersRuns(json, config);
    try {
      this.hf = new HfTokenizer(runs, config);
    } catch (e) {
      throw new TokenizerLoadError(`cannot build tokenizer: ${(e as Error).message}`, { cause: e });
    }
    this.json = { decoder: runs.decoder, added_tokens: runs.added_tokens };
    const vocab = this.hf.get_vocab(true);
    this.distinct = vocab.size;
    let limit = 0;
    for (const id of vocab.values()) limit = Math.max(limit, id + 1);
    this.limit = limit;

    const special: Record<string, string> = {};
    for (const key of SPECIAL_TOKEN_KEYS) {
      const content = tokenContent(config[key]);
      if (content !== null) special[key] = content;
    }
    this.specialTokens = special;
    this.bosToken = special.bos_token ?? null;
    this.eosToken = special.eos_token ?? null;
    this.bosTokenId = this.bosToken === null ? null : (this.tokenToId(this.bosToken) ?? null);
    this.eosTokenId = this.eosToken === null ? null : (this.tokenToId(this.eosToken) ?? null);

    const eos = new Set<number>();
    const fromConfig = extras.eosTokenId;
    if (typeof fromConfig === "number") eos.add(fromConfig);
    else if (Array.isArray(fromConfig)) for (const id of fromConfig) eos.add(id);
    if (this.eosTokenId !== null) eos.add(this.eosTokenId);
    this.eosTokenIds = eos;

    this.chatTemplate = extras.chatTemplate ?? configChatTemplate(config);
    this.hasThinking = THINK_PAIRS.some(([a, b]) => this.tokenToId(a) !== undefined && this.tokenToId(b) !== undefined);
  }

  /** Build from parsed tokenizer.json and tokenizer_config.json (a GGUF reader synthesizes these). */
  static fromObjects(json: TokenizerJson, config: TokenizerConfig, extras: TokenizerExtras = {}): Tokenizer {
    return new Tokenizer(json, config, extras);
  }

  /**
   * Load a Hugging Face model directory as transformers + mlx-lm do: special_tokens_map.json fills
   * what tokenizer_config.json lacks; chat_template.jinja (or chat_template.json) beats the config's
   * template; generation_config.json's eos_token_id beats config.json's.
   */
  static async fromFiles(dir: string): Promise<Tokenizer> {
    const json = await readJson<TokenizerJson>(join(dir, "tokenizer.json"));
    if (!json) throw new TokenizerLoadError(`no tokenizer.json in ${dir}`);
    const config: TokenizerConfig = (await readJson<TokenizerConfig>(join(dir, "tokenizer_config.json"))) ?? {};
    const specialMap = await readJson<Record<string, unknown>>(join(dir, "special_tokens_map.json"));
    for (const [key, value] of Object.entries(specialMap ?? {})) {
      if (!config[key]) config[key] = value;
    }

    let chatTemplate: string | null = null;
    const jinjaFile = Bun.file(join(dir, "chat_template.jinja"));
    if (await jinjaFile.exists()) chatTemplate = await jinjaFile.text();
    else {
      const legacy = await readJson<{ chat_template?: string }>(join(dir, "chat_template.json"));
      if (typeof legacy?.chat_template === "string") chatTemplate = legacy.chat_template;
    }

    const modelConfig = await readJson<{ eos_token_id?: number | number[] }>(join(dir, "config.json"));
    const genConfig = await readJson<{ eos_token_id?: number | number[] }>(join(dir, "generation_config.json"));
    // mlx-lm's load_config: a truthy generation_config eos_token_id replaces config.json's.
    const eosTokenId = genConfig?.eos_token_id || modelConfig?.eos_token_id || null;
    return new Tokenizer(json, config, { chatTemplate, eosTokenId });
  }

  /** Like transformers' `encode`: special tokens come from tokenizer.json's post-processor. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /**
   * Encode a raw prompt as mlx-lm's stream_generate does: add special tokens (BOS) unless the
   * text already starts with the BOS token, e.g. because a chat template put it there.
   */
  encodePrompt(text: string): number[] {
    const addSpecialTokens = this.bosToken === null || !text.startsWith(this.bosToken);
    return this.encode(text, { addSpecialTokens });
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return this.hf.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** Number of distinct tokens, added tokens included (transformers' `len(tokenizer)`). */
  get vocabSize(): number {
    return this.distinct;
  }

  /** One past the highest token id: the size of an id → token table. */
  get idLimit(): number {
    return this.limit;
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** Whether an id is an added token marked special (skipped by decode with skipSpecialTokens). */
  isSpecial(id: number): boolean {
    return this.hf.get_added_tokens_decoder().get(id)?.special ?? false;
  }
}

async function readJson<T>(path: string): Promise<T | null> {
  const file = Bun.file(path);
  if (!(await file.exists())) return null;
  try {
    return (await file.json()) as T;
  } catch (e) {
    throw new TokenizerLoadError(`${path}: invalid JSON: ${(e as Error).message}`, { cause: e });
  }
}
