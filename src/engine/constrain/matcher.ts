// The byte-level pushdown matcher over a compiled schema. A configuration is an immutable stack of frames (a
// linked list sharing its tail), so one byte step makes new configurations without copying, and a trie walk
// over the vocabulary can branch at every byte for free. anyOf and enum prefixes make the language
// non-deterministic: the matcher carries a set of configurations, deduplicated by key.
//
// Whitespace between tokens is limited to MAX_WS bytes per gap: small models (and random weights) otherwise
// loop on spaces and newlines; compact JSON is what every consumer parses. Numbers are limited to MAX_DIGITS
// digits per part for the same reason.
import { isDigit, isWs, S_PLAIN, stringByte } from "./json-bytes.ts";
import { bit, type LiteralTrie, type SchemaNode, type SchemaProgram } from "./schema.ts";

export const MAX_WS = 1;
export const MAX_DIGITS = 16;
const MAX_EXP_DIGITS = 3;

type ObjectNode = Extract<SchemaNode, { kind: "object" }>;
type ArrayNode = Extract<SchemaNode, { kind: "array" }>;
type StringNode = Extract<SchemaNode, { kind: "string" }>;
type NumberNode = Extract<SchemaNode, { kind: "number" }>;

const enum Num { Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpDigits }

export type Frame =
  | { t: "value"; node: SchemaNode; ws: number }
  /** before a key: after "{" (first: "}" may close) or after "," */
  | { t: "keyStart"; node: ObjectNode; seen: number; first: boolean; ws: number }
  /** inside a key: at ≥ 0 follows the property-name trie, -1 is a free key in string sub-state `sub` */
  | { t: "key"; node: ObjectNode; seen: number; at: number; sub: number }
  | { t: "colon"; node: ObjectNode; seen: number; prop: number; ws: number }
  | { t: "objectNext"; node: ObjectNode; seen: number; ws: number }
  | { t: "arrayOpen"; node: ArrayNode; ws: number }
  | { t: "arrayNext"; node: ArrayNode; count: number; ws: number }
  | { t: "string"; node: StringNode; sub: number; len: number }
  | { t: "number"; node: NumberNode; phase: Num; digits: number }
  | { t: "literal"; trie: LiteralTrie; at: number }
  | { t: "end" };

export class Config {
  private cachedKey: string | undefined;
  constructor(readonly f: Frame, readonly up: Config | null) {}

  get key(): string {
    return (this.cachedKey ??= frameKey(this.f) + (this.up ? "/" + this.up.key : ""));
  }
}

function frameKey(f: Frame): string {
  switch (f.t) {
    case "value":
      return `v${f.node.id}w${f.ws}`;
    case "keyStart":
      return `k${f.node.id}s${f.seen}${f.first ? "f" : ""}w${f.ws}`;
    case "key":
      return `K${f.node.id}s${f.seen}a${f.at}u${f.sub}`;
    case "colon":
      return `c${f.node.id}s${f.seen}p${f.prop}w${f.ws}`;
    case "objectNext":
      return `o${f.node.id}s${f.seen}w${f.ws}`;
    case "arrayOpen":
      return `a${f.node.id}w${f.ws}`;
    case "arrayNext": {
      // The count matters only against minItems/maxItems; past both it is one state.
      const limited = f.node.min > 0 || f.node.max < Infinity;
      const cap = Math.max(f.node.min, f.node.max < Infinity ? f.node.max : 0);
      return `A${f.node.id}n${limited ? Math.min(f.count, cap) : 0}w${f.ws}`;
    }
    case "string": {
      const limited = f.node.min > 0 || f.node.max < Infinity;
      return `s${f.node.id}u${f.sub}${limited ? `l${f.len}` : ""}`;
    }
    case "number":
      return `n${f.node.id}p${f.phase}d${f.digits}`;
    case "literal":
      return `l${f.trie.id}@${f.at}`;
    case "end":
      return "E";
  }
}



export class Matcher {
  constructor(readonly program: SchemaProgram) {}

  /** Every configuration `c` can become by consuming byte b, appended to out. */
  step(c: Config, b: number, out: Config[]): void {
    const f = c.f;
    const up = c.up;
    switch (f.t) {
      case "value":
        if (isWs(b)) {
          if (f.ws < MAX_WS) out.push(new Config({ ...f, ws: f.ws + 1 }, up));
          return;
        }
        return this.startValue(f.node, b, up, out);
      case "keyStart":
        if (isWs(b)) {
          if (f.ws < MAX_WS) out.push(new Config({ ...f, ws: f.ws + 1 }, up));
        } else if (b === 0x7d && f.first && f.node.required === 0) {
          if (up) out.push(up);
        } else if (b === 0x22 && canAddKey(f.node, f.seen)) {
          out.push(new Config({ t: "key", node: f.node, seen: f.seen, at: f.node.keys ? 0 : -1, sub: S_PLAIN }, up));
        }
        return;
      case "key":
        return this.keyByte(f, b, up, out);
      case "colon":
        if (isWs(b)) {
          if (f.ws < MAX_WS) out.push(new Config({ ...f, ws: f.ws + 1 }, up));
        } else if (b === 0x3a) {
          const valueNode = f.prop >= 0 ? f.node.props[f.prop]!.node : f.node.additional!;
          const next = new Config({ t: "objectNext", node: f.node, seen: f.seen | (f.prop >= 0 ? bit(f.prop) : 0), ws: 0 }, up);
          out.push(new Config({ t: "value", node: valueNode, ws: 0 }, next));
        }
        return;
      case "objectNext":
        if (isWs(b)) {
          if (f.ws < MAX_WS) out.push(new Config({ ...f, ws: f.ws + 1 }, up));
        } else if (b === 0x2c && canAddKey(f.node, f.seen)) {
          out.push(new Config({ t: "keyStart", node: f.node, seen: f.seen, first: false, ws: 0 }, up));
        } else if (b === 0x7d && (f.node.required & ~f.seen) === 0) {
          if (up) out.push(up);
        }
        return;
      case "arrayOpen":
        if (isWs(b)) {
          if (f.ws < MAX_WS) out.push(new Config({ ...f, ws: f.ws + 1 }, up));
        } else if (b === 0x5d) {
          if (f.node.min === 0 && up) out.push(up);
        } else if (f.node.max > 0) {
          this.startValue(f.node.items, b, new Config({ t: "arrayNext", node: f.node, count: 1, ws: 0 }, up), out);
        }
        return;
      case "arrayNext":
        if (isWs(b)) {
          if (f.ws < MAX_WS) out.push(new Config({ ...f, ws: f.ws + 1 }, up));
        } else if (b === 0x2c && f.count < f.node.max) {
          const next = new Config({ t: "arrayNext", node: f.node, count: f.count + 1, ws: 0 }, up);
          out.push(new Config({ t: "value", node: f.node.items, ws: 0 }, next));
        } else if (b === 0x5d && f.count >= f.node.min && up) {
          out.push(up);
        }
        return;
      case "string": {
        if (f.sub === S_PLAIN && b === 0x22) {
          if (f.len >= f.node.min && up) out.push(up);
          return;
        }
        const sub = stringByte(f.sub, b);
        if (sub < 0) return;
        // A character is counted where it starts: a plain byte, a UTF-8 lead byte, or a backslash.
        const starts = f.sub === S_PLAIN;
        if (starts && f.len >= f.node.max) return;
        out.push(new Config({ t: "string", node: f.node, sub, len: starts ? f.len + 1 : f.len }, up));
        return;
      }
      case "number":
        return this.numberByte(f, b, up, out);
      case "literal":
        return this.literalByte(f.trie, f.at, b, up, out);
      case "end":
        return;
    }
  }

  /** Whether the output may end here (EOS is allowed). */
  accepts(c: Config): boolean {
    const f = c.f;
    if (f.t === "end") return true;
    if (f.t === "number") return numberComplete(f.phase) && c.up !== null && this.accepts(c.up);
    return false;
  }

  private startValue(node: SchemaNode, b: number, up: Config | null, out: Config[]): void {
    switch (node.kind) {
      case "any": {
        const part = this.program.anyPart(b);
        if (part) this.startValue(part, b, up, out);
        return;
      }
      case "anyOf":
        for (const option of node.options) this.startValue(option, b, up, out);
        return;
      case "object":
        if (b === 0x7b) out.push(new Config({ t: "keyStart", node, seen: 0, first: true, ws: 0 }, up));
        return;
      case "array":
        if (b === 0x5b) out.push(new Config({ t: "arrayOpen", node, ws: 0 }, up));
        return;
      case "string":
        if (b === 0x22) out.push(new Config({ t: "string", node, sub: S_PLAIN, len: 0 }, up));
        return;
      case "number":
        if (b === 0x2d) out.push(new Config({ t: "number", node, phase: Num.Minus, digits: 0 }, up));
        else if (b === 0x30) out.push(new Config({ t: "number", node, phase: Num.Zero, digits: 1 }, up));
        else if (isDigit(b)) out.push(new Config({ t: "number", node, phase: Num.Int, digits: 1 }, up));
        return;
      case "literal":
        return this.literalByte(node.trie, 0, b, up, out);
    }
  }

  private literalByte(trie: LiteralTrie, at: number, b: number, up: Config | null, out: Config[]): void {
    const child = trie.next[at]!.get(b);
    if (child === undefined) return;
    // A literal that is complete here but also a prefix of a longer one (enum [1, 12]) branches.
    if (trie.final[child]! >= 0 && up) out.push(up);
    if (trie.next[child]!.size > 0) out.push(new Config({ t: "literal", trie, at: child }, up));
  }

  private keyByte(f: Extract<Frame, { t: "key" }>, b: number, up: Config | null, out: Config[]): void {
    const node = f.node;
    if (f.at >= 0) {
      const keys = node.keys!;
      const child = keys.next[f.at]!.get(b);
      if (child !== undefined && (keys.under[child]! & ~f.seen) !== 0) {
        const prop = keys.final[child]!;
        if (prop >= 0) out.push(new Config({ t: "colon", node, seen: f.seen, prop, ws: 0 }, up));
        else out.push(new Config({ ...f, at: child }, up));
        return;
      }
      if (!node.additional) return;
      // The key left the declared names: from here it is a free key of additionalProperties. Names are plain
      // JSON-escaped text, so a trie node inside one is never inside an escape or a character.
      return this.keyByte({ ...f, at: -1, sub: S_PLAIN }, b, up, out);
    }
    if (f.sub === S_PLAIN && b === 0x22) {
      out.push(new Config({ t: "colon", node, seen: f.seen, prop: -1, ws: 0 }, up));
      return;
    }
    const sub = stringByte(f.sub, b);
    if (sub >= 0) out.push(new Config({ ...f, sub }, up));
  }

  private numberByte(f: Extract<Frame, { t: "number" }>, b: number, up: Config | null, out: Config[]): void {
    const next = (phase: Num, digits: number): void => {
      out.push(new Config({ t: "number", node: f.node, phase, digits }, up));
    };
    const digit = isDigit(b);
    switch (f.phase) {
      case Num.Minus:
        if (b === 0x30) return next(Num.Zero, 1);
        if (digit) return next(Num.Int, 1);
        return;
      case Num.Int:
      case Num.Zero:
        if (digit) {
          // After a leading zero a digit is not part of the number ("01" is not JSON): it falls to what follows.
          if (f.phase === Num.Zero) break;
          if (f.digits < MAX_DIGITS) next(Num.Int, f.digits + 1);
          return;
        }
        if (!f.node.integer && b === 0x2e) return next(Num.Dot, 0);
        if (!f.node.integer && (b === 0x65 || b === 0x45)) return next(Num.Exp, 0);
        break;
      case Num.Dot:
        if (digit) next(Num.Frac, 1);
        return;
      case Num.Frac:
        if (digit) {
          if (f.digits < MAX_DIGITS) next(Num.Frac, f.digits + 1);
          return;
        }
        if (b === 0x65 || b === 0x45) return next(Num.Exp, 0);
        break;
      case Num.Exp:
        if (b === 0x2b || b === 0x2d) return next(Num.ExpSign, 0);
        if (digit) next(Num.ExpDigits, 1);
        return;
      case Num.ExpSign:
        if (digit) next(Num.ExpDigits, 1);
        return;
      case Num.ExpDigits:
        if (digit) {
          if (f.digits < MAX_EXP_DIGITS) next(Num.ExpDigits, f.digits + 1);
          return;
        }
        break;
    }
    // The number ended before this byte: the byte belongs to what follows it.
    if (numberComplete(f.phase) && up) this.step(up, b, out);
  }
}

function numberComplete(phase: Num): boolean {
  return phase === Num.Zero || phase === Num.Int || phase === Num.Frac || phase === Num.ExpDigits;
}

function canAddKey(node: ObjectNode, seen: number): boolean {
  if (node.additional) return true;
  return node.keys !== null && (node.keys.under[0]! & ~seen) !== 0;
}

/**
 * How many more characters of plain text a configuration takes where it is (inside a string, between
 * characters: every plain-text token of at most that many characters fits); -1 when it is not there.
 */
export function plainTextRoom(c: Config): number {
  const f = c.f;
  if (f.t === "string") return f.sub === S_PLAIN ? f.node.max - f.len : -1;
  return f.t === "key" && f.at < 0 && f.sub === S_PLAIN ? Infinity : -1;
}
