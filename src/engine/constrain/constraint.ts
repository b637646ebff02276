// Constrained decoding: the OutputConstraint of a request, compiled against the model's vocabulary into a
// per-step token mask and a matcher the sampled token advances.
//
// Own implementation rather than @mlc-ai/web-xgrammar: that package is an Emscripten build for browsers
// (its runtime aborts the process on a grammar it rejects, which would kill the runner; its .wasm must be
// found on disk at run time, which `bun build --compile` does not bundle), and it needs the vocabulary
// re-encoded in its own format. JSON and a JSON-Schema subset are a small pushdown language; a TypeScript
// matcher over the byte vocabulary we already decode (detokenizer.ts), with masks cached by matcher state,
// costs nothing per step once a state has been seen.
//
// Masks are cached by the state's key: a schema has few distinct states (a free string is one state however
// long it gets), so after the first request or the first few tokens nearly every step is a lookup.
//
// Near the end of the budget (num_predict, the context), a token is allowed only if a complete value still fits in
// the tokens left after it (budget.ts counts the bytes a completion needs, and every byte is a token): the output
// closes its strings, arrays and objects in time and parses whenever the budget allowed any valid value at all.
import { array, type MxArray } from "../../ffi/index.ts";
import type { Tokenizer } from "../../formats/tokenizer/tokenizer.ts";
import type { OutputConstraint } from "../protocol.ts";
import { Config, Matcher, plainTextRoom } from "./matcher.ts";
import { SchemaProgram } from "./schema.ts";
import { CompletionCost } from "./budget.ts";
import { byteVocab, type ByteVocab, type SortedTokens } from "./vocab.ts";

/** What the token loop needs from a constraint. */
export interface TokenConstraint {
  /**
   * (1, vocabSize) bool: the tokens allowed next, or null when any is. Created in the caller's scope. `remaining`:
   * the tokens the generation may still produce, this one included (num_predict, the context); near its end only
   * tokens after which a complete value still fits are allowed.
   */
  mask(vocabSize: number, remaining?: number): MxArray | null;
  /** Consume a sampled token. */
  advance(token: number): void;
  /** Nothing but the end can follow: generation stops ("stop") without sampling again. */
  readonly finished: boolean;
}

const utf8 = new TextEncoder();
const MAX_PROGRAMS = 8;
/**
 * Mask cache per compiled constraint: at most 512 states, and at most 32 MB of masks (a 262k vocabulary: 128, fewer
 * once states near a budget's end also hold their 2-byte-a-token needAfter).
 */
const MAX_MASKS = 512;
const MASK_BYTES = 32 << 20;

interface MaskEntry {
  allowed: Uint8Array;
  /** allowed tokens (EOS included) */
  count: number;
  /** the fewest tokens that complete a value from here, the end-of-sequence token included (budget.ts) */
  need: number;
  /** per allowed token, `need` after it; computed the first time a budget comes near this state */
  needAfter?: Uint16Array;
}

/** needAfter's ceiling: a cost this large never fits a budget anyway */
const NEED_CAP = 0xffff;

/** One constraint compiled for one vocabulary; shared by every request that sends the same spec. */
export class CompiledConstraint {
  readonly matcher: Matcher;
  readonly start: Config[];
  readonly costs = new CompletionCost();
  /** The most one token can add to `need`: closer to the budget than this, each token is checked. */
  readonly reach: number;
  private readonly masks = new Map<string, MaskEntry>();
  private maskBytes = 0;

  constructor(readonly vocab: ByteVocab, spec: OutputConstraint) {
    const root = spec.kind === "json" ? { type: "object" } : spec.schema;
    const program = new SchemaProgram(root);
    this.matcher = new Matcher(program);
    const node = program.compile(root);
    // per byte: at most a whole shortest value opens (plus the key, colon and comma around it)
    this.reach = Math.max(1, vocab.all?.maxLength ?? 1) * (this.costs.largestValue(node) + 3);
    let top = new Config({ t: "end" }, null);
    if (spec.kind === "tool_call" && spec.suffix) top = literalFrame(program, spec.suffix, top);
    top = new Config({ t: "value", node, ws: 0 }, top);
    if (spec.kind === "tool_call" && spec.prefix) top = literalFrame(program, spec.prefix, top);
    this.start = [top];
  }

  /** The configurations after consuming bytes (empty: the bytes leave the language). */
  advance(configs: readonly Config[], bytes: Uint8Array): Config[] {
    let cur = configs as Config[];
    for (const b of bytes) {
      const next: Config[] = [];
      for (const c of cur) this.matcher.step(c, b, next);
      cur = dedupe(next);
      if (cur.length === 0) break;
    }
    return cur;
  }

  maskFor(configs: readonly Config[]): MaskEntry {
    const key = keyOf(configs);
    let entry = this.masks.get(key);
    if (entry) {
      // Refresh its place: the Map's order is the eviction order.
      this.masks.delete(key);
      this.masks.set(key, entry);
      return entry;
    }
    entry = this.computeMask(configs);
    this.masks.set(key, entry);
    this.maskBytes += entry.allowed.byteLength;
    this.evict();
    return entry;
  }

  /** The mask cache: its states, the bytes they hold, and the running count eviction goes by (the same number). */
  cacheStats(): { states: number; bytes: number; counted: number } {
    let bytes = 0;
    for (const e of this.masks.values()) bytes += e.allowed.byteLength + (e.needAfter?.byteLength ?? 0);
    return { states: this.masks.size, bytes, counted: this.maskBytes };
  }

  /** The least recently used entries go until the cache is within its bounds (needAfter's bytes count too). */
  private evict(): void {
    while (this.masks.size > MAX_MASKS || (this.maskBytes > MASK_BYTES && this.masks.size > 1)) {
      const [key, old] = this.masks.entries().next().value!;
      this.masks.delete(key);
      this.maskBytes -= old.allowed.byteLength + (old.needAfter?.byteLength ?? 0);
    }
  }

  /** `need` after each token `entry` allows (EOS: none once accepted), from a walk of the whole vocabulary. */
  needAfter(configs: readonly Config[], entry: MaskEntry): Uint16Array {
    if (entry.needAfter) return entry.needAfter;
    const v = this.vocab;
    const after = new Uint16Array(v.size).fill(NEED_CAP);
    const each = (id: number, states: Config[]) => {
      after[id] = Math.min(NEED_CAP, ...states.map((c) => this.costs.need(c)));
    };
    const one = configs.length === 1 ? configs[0]! : null;
    if (one && plainTextRoom(one) >= 0) {
      // Inside a string (or a free key) between characters, plain text moves no structure: it only counts towards
      // a minLength. Only the other tokens are walked, as computeMask does.
      const f = one.f;
      const short = f.t === "string" ? Math.max(0, f.node.min - f.len) : 0;
      const base = this.costs.need(one);
      for (let id = 0; id < v.size; id++) if (v.plain[id] && entry.allowed[id]) after[id] = base - Math.min(v.plainChars[id]!, short);
      this.walk(configs, v.notPlain, null, each);
    } else this.walk(configs, v.all, null, each);
    if (configs.some((c) => this.matcher.accepts(c))) for (const id of this.vocab.eos) after[id] = 0;
    entry.needAfter = after;
    // counted while the cache holds the entry (a request may keep one the cache has already let go)
    if (this.masks.get(keyOf(configs)) === entry) {
      this.maskBytes += after.byteLength;
      this.evict();
    }
    return after;
  }

  private computeMask(configs: readonly Config[]): MaskEntry {
    const v = this.vocab;
    let allowed: Uint8Array;
    const room = configs.length > 0 ? Math.min(...configs.map(plainTextRoom)) : -1;
    if (room >= 0) {
      // Inside strings between characters: plain-text tokens that fit are allowed without a walk (most of
      // the vocabulary); only tokens with quotes, escapes or partial characters are matched byte by byte.
      const most = configs.length === 1 ? room : Math.max(...configs.map(plainTextRoom));
      if (most === Infinity) allowed = v.plain.slice();
      else {
        allowed = new Uint8Array(v.size);
        for (let id = 0; id < v.size; id++) if (v.plain[id] && v.plainChars[id]! <= most) allowed[id] = 1;
      }
      this.walk(configs, v.notPlain, allowed);
    } else {
      allowed = new Uint8Array(v.size);
      this.walk(configs, v.all, allowed);
    }
    if (configs.some((c) => this.matcher.accepts(c))) for (const id of v.eos) allowed[id] = 1;
    let count = 0;
    for (let i = 0; i < allowed.length; i++) count += allowed[i]!;
    const need = configs.length > 0 ? Math.min(...configs.map((c) => this.costs.need(c))) : NEED_CAP;
    return { allowed, count, need };
  }

  /** Marks every token of `list` whose bytes the configurations accept (and hands each its configurations after). */
  private walk(start: readonly Config[], list: SortedTokens, allowed: Uint8Array | null, each?: (id: number, after: Config[]) => void): void {
    const states: Config[][] = new Array(list.maxLength + 1);
    states[0] = start as Config[];
    let dead = Infinity; // the prefix length at which the last walked token died
    for (let i = 0; i < list.ids.length; i++) {
      const shared = list.shared[i]!;
      if (shared >= dead) continue; // under the same dead prefix
      dead = Infinity;
      const from = list.offsets[i]!;
      const length = list.offsets[i + 1]! - from;
      let d = shared;
      for (; d < length; d++) {
        const next: Config[] = [];
        const b = list.bytes[from + d]!;
        for (const c of states[d]!) this.matcher.step(c, b, next);
        if (next.length === 0) break;
        states[d + 1] = next.length > 1 ? dedupe(next) : next;
      }
      if (d === length) {
        if (allowed) allowed[list.ids[i]!] = 1;
        each?.(list.ids[i]!, states[length]!);
      } else dead = d + 1;
    }
  }
}

function literalFrame(program: SchemaProgram, text: string, up: Config): Config {
  return new Config({ t: "literal", trie: program.literal([utf8.encode(text)]), at: 0 }, up);
}

/** A set of configurations' cache key: the same set in any order is one state. */
function keyOf(configs: readonly Config[]): string {
  return configs.map((c) => c.key).sort().join("|");
}

function dedupe(configs: Config[]): Config[] {
  if (configs.length < 2) return configs;
  const seen = new Map<string, Config>();
  for (const c of configs) if (!seen.has(c.key)) seen.set(c.key, c);
  return [...seen.values()];
}

const compiled = new WeakMap<Tokenizer, Map<string, CompiledConstraint>>();

/** The compiled constraint for this tokenizer and spec, reused across requests (the last few specs). */
export function compileConstraint(tokenizer: Tokenizer, spec: OutputConstraint): CompiledConstraint {
  let perTokenizer = compiled.get(tokenizer);
  if (!perTokenizer) compiled.set(tokenizer, (perTokenizer = new Map()));
  const key = JSON.stringify(spec);
  let c = perTokenizer.get(key);
  if (c) {
    perTokenizer.delete(key);
  } else {
    c = new CompiledConstraint(byteVocab(tokenizer), spec);
    if (perTokenizer.size >= MAX_PROGRAMS) perTokenizer.delete(perTokenizer.keys().next().value!);
  }
  perTokenizer.set(key, c);
  return c;
}

/** One request's matcher state over a compiled constraint. */
export class ConstraintState implements TokenConstraint {
  private configs: Config[];
  private entry: MaskEntry;

  constructor(private readonly c: CompiledConstraint) {
    this.configs = c.start;
    this.entry = c.maskFor(this.configs);
  }

  get finished(): boolean {
    // Only EOS left (or nothing at all): the output is complete.
    const onlyEnd = this.configs.every((c) => c.f.t === "end");
    return onlyEnd || this.entry.count === 0;
  }

  /** False once a token left the language (never, when tokens come from the mask). */
  get alive(): boolean {
    return this.configs.length > 0;
  }

  /** The fewest tokens that complete a value from here, the end-of-sequence token included (a bound: bytes). */
  get need(): number {
    return this.entry.need;
  }

  /** Whether the text so far is a complete value of the language. */
  get accepting(): boolean {
    return this.configs.some((c) => this.c.matcher.accepts(c));
  }

  allowed(): Uint8Array {
    return this.entry.allowed;
  }

  /** The tokens allowed next: all the language allows, or near the budget's end only those after which it can close. */
  allowedWithin(remaining: number | undefined): Uint8Array {
    const e = this.entry;
    const left = remaining === undefined ? Infinity : remaining - 1; // tokens after this one
    if (left >= e.need + this.c.reach) return e.allowed;
    const after = this.c.needAfter(this.configs, e);
    const fits = new Uint8Array(e.allowed.length);
    let best = NEED_CAP + 1;
    let any = false;
    for (let id = 0; id < fits.length; id++) {
      if (!e.allowed[id]) continue;
      const n = after[id]!;
      if (n <= left) {
        fits[id] = 1;
        any = true;
      }
      if (n < best) best = n;
    }
    // No token keeps a completion within the budget (it was too small from the start): the ones that get closest.
    if (!any) for (let id = 0; id < fits.length; id++) if (e.allowed[id] && after[id] === best) fits[id] = 1;
    return fits;
  }

  mask(vocabSize: number, remaining?: number): MxArray {
    const allowed = this.allowedWithin(remaining);
    if (allowed.length === vocabSize) return array(allowed, [1, vocabSize], "bool");
    // Padded embeddings (more rows than tokens) are never allowed; a shorter head only sees its ids.
    const fitted = new Uint8Array(vocabSize);
    fitted.set(allowed.subarray(0, vocabSize));
    return array(fitted, [1, vocabSize], "bool");
  }

  advance(token: number): void {
    if (this.c.vocab.eos.includes(token)) {
      this.configs = this.configs.filter((c) => this.c.matcher.accepts(c)).map(() => new Config({ t: "end" }, null));
    } else {
      this.configs = this.c.advance(this.configs, this.c.vocab.bytesOf(token));
    }
    this.entry = this.c.maskFor(this.configs);
  }

  /** Feed text (tests and tool-call checks). */
  advanceText(text: string): boolean {
    this.configs = this.c.advance(this.configs, utf8.encode(text));
    this.entry = this.c.maskFor(this.configs);
    return this.configs.length > 0;
  }
}

export function createConstraint(tokenizer: Tokenizer, spec: OutputConstraint): ConstraintState {
  return new ConstraintState(compileConstraint(tokenizer, spec));
}
