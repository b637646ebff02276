// How far a constrained output is from a complete value: the fewest bytes that take a matcher configuration to one
// the language accepts (close the string, supply the required keys with their shortest values, close the arrays
// and objects). Every byte is a token of the vocabularies ollmlx runs (byte-level BPE, SentencePiece's byte
// fallback), so bytes bound the tokens a completion needs: a step that keeps `need ≤ tokens left` can always finish,
// and constraint.ts masks by it once the budget (num_predict, the context) comes near.
import { S_PLAIN } from "./json-bytes.ts";
import type { Config, Frame } from "./matcher.ts";
import { bit, type LiteralTrie, type SchemaNode } from "./schema.ts";

type ObjectNode = Extract<SchemaNode, { kind: "object" }>;

/** Bytes past which a cost counts as "no completion": a required recursion has no finite value. */
const NEVER = 1 << 30;

export class CompletionCost {
  private readonly values = new Map<number, number>();
  private readonly trieDepths = new Map<number, { toFinal: number[]; depth: number[] }>();
  private readonly costs = new Map<string, number>();

  /** Fewest bytes to a complete value from `c`, plus one for the end-of-sequence token unless `c` is the end. */
  need(c: Config): number {
    return c.f.t === "end" ? 0 : Math.min(NEVER, this.cost(c) + 1);
  }

  /** Fewest bytes from `c` to a configuration that accepts (the end, or a complete number before it). */
  cost(c: Config): number {
    let known = this.costs.get(c.key);
    if (known === undefined) {
      known = Math.min(NEVER, this.frame(c.f) + (c.up ? this.cost(c.up) : 0));
      if (this.costs.size > 4096) this.costs.clear();
      this.costs.set(c.key, known);
    }
    return known;
  }

  /** The most bytes one value of the schema needs at least: how much one byte can add to a cost. */
  largestValue(root: SchemaNode): number {
    let most = 1;
    const seen = new Set<number>();
    const visit = (n: SchemaNode): void => {
      if (seen.has(n.id)) return;
      seen.add(n.id);
      const v = this.value(n);
      if (v < NEVER) most = Math.max(most, v);
      if (n.kind === "object") {
        for (const p of n.props) {
          most = Math.max(most, keyBytes(p.name) + 1);
          visit(p.node);
        }
        if (n.additional) visit(n.additional);
      } else if (n.kind === "array") visit(n.items);
      else if (n.kind === "anyOf") n.options.forEach(visit);
    };
    visit(root);
    return most;
  }

  /** Fewest bytes of a complete value of `node`. */
  value(node: SchemaNode): number {
    const known = this.values.get(node.id);
    if (known !== undefined) return known;
    this.values.set(node.id, NEVER); // a value that needs itself (a required recursion) never completes
    let v: number;
    switch (node.kind) {
      case "any":
      case "number":
        v = 1;
        break;
      case "string":
        v = 2 + node.min;
        break;
      case "literal":
        v = this.literalLeft(node.trie, 0);
        break;
      case "array":
        v = node.min === 0 ? 2 : 2 + node.min * this.value(node.items) + (node.min - 1);
        break;
      case "object":
        v = 2 + this.required(node, 0);
        break;
      case "anyOf":
        v = Math.min(NEVER, ...node.options.map((o) => this.value(o)));
        break;
    }
    v = Math.min(NEVER, v);
    this.values.set(node.id, v);
    return v;
  }

  /** The bytes of the required keys not in `seen`, with their shortest values, separated by commas. */
  private required(node: ObjectNode, seen: number): number {
    let total = 0;
    let n = 0;
    node.props.forEach((p, i) => {
      if ((node.required & bit(i)) === 0 || (seen & bit(i)) !== 0) return;
      total += keyBytes(p.name) + 1 + this.value(p.node);
      n++;
    });
    return n === 0 ? 0 : total + (n - 1);
  }

  private missing(node: ObjectNode, seen: number): boolean {
    return (node.required & ~seen) !== 0;
  }

  /** After a member: `}` when nothing required is missing, else `,` the missing members and `}`. */
  private objectRest(node: ObjectNode, seen: number): number {
    return this.missing(node, seen) ? 1 + this.required(node, seen) + 1 : 1;
  }

  /** The cheapest member that may start here: a declared key not yet written, or a free one. */
  private anyMember(node: ObjectNode, seen: number): number {
    let best = NEVER;
    node.props.forEach((p, i) => {
      if ((seen & bit(i)) === 0) best = Math.min(best, keyBytes(p.name) + 1 + this.value(p.node) + this.objectRest(node, seen | bit(i)));
    });
    if (node.additional) best = Math.min(best, 2 + 1 + this.value(node.additional) + this.objectRest(node, seen));
    return best;
  }

  private frame(f: Frame): number {
    switch (f.t) {
      case "end":
        return 0;
      case "value":
        return this.value(f.node);
      case "keyStart":
        if (this.missing(f.node, f.seen)) return this.required(f.node, f.seen) + 1;
        return f.first ? 1 : this.anyMember(f.node, f.seen);
      case "key": {
        const node = f.node;
        // a free key: close it (finish an escape or a character first), then its value and the rest
        const free = node.additional ? stringClose(f.at >= 0 ? S_PLAIN : f.sub) + 1 + this.value(node.additional) + this.objectRest(node, f.seen) : NEVER;
        if (f.at < 0) return free;
        const keys = node.keys!;
        const t = this.trie(keys);
        let best = free;
        node.props.forEach((p, i) => {
          if ((f.seen & bit(i)) !== 0 || (keys.under[f.at]! & bit(i)) === 0) return;
          const left = keyBytes(p.name) - 1 - t.depth[f.at]!; // the key's bytes after its opening quote not yet written
          best = Math.min(best, left + 1 + this.value(p.node) + this.objectRest(node, f.seen | bit(i)));
        });
        return best;
      }
      case "colon": {
        const valueNode = f.prop >= 0 ? f.node.props[f.prop]!.node : f.node.additional!;
        return 1 + this.value(valueNode) + this.objectRest(f.node, f.seen | (f.prop >= 0 ? bit(f.prop) : 0));
      }
      case "objectNext":
        return this.objectRest(f.node, f.seen);
      case "arrayOpen":
        return f.node.min === 0 ? 1 : this.value(f.node) - 1; // the array's value less its "["
      case "arrayNext":
        return f.count >= f.node.min ? 1 : (f.node.min - f.count) * (1 + this.value(f.node.items)) + 1;
      case "string":
        // the character begun is already counted in len
        return stringClose(f.sub) + Math.max(0, f.node.min - f.len);
      case "number":
        return f.phase === NUM_MINUS || f.phase === NUM_DOT || f.phase === NUM_EXP || f.phase === NUM_EXP_SIGN ? 1 : 0;
      case "literal":
        return this.literalLeft(f.trie, f.at);
    }
  }

  private literalLeft(trie: LiteralTrie, at: number): number {
    return this.trie(trie).toFinal[at]!;
  }

  /** Per trie node: its depth, and the fewest bytes from it to a complete value. */
  private trie(trie: LiteralTrie): { toFinal: number[]; depth: number[] } {
    let t = this.trieDepths.get(trie.id);
    if (t) return t;
    const n = trie.next.length;
    const depth = new Array<number>(n).fill(0);
    const order: number[] = [0];
    for (let i = 0; i < order.length; i++) {
      for (const child of trie.next[order[i]!]!.values()) {
        depth[child] = depth[order[i]!]! + 1;
        order.push(child);
      }
    }
    const toFinal = new Array<number>(n).fill(NEVER);
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      let best = trie.final[node]! >= 0 && node !== 0 ? 0 : NEVER;
      for (const child of trie.next[node]!.values()) best = Math.min(best, 1 + toFinal[child]!);
      toFinal[node] = best;
    }
    t = { toFinal, depth };
    this.trieDepths.set(trie.id, t);
    return t;
  }
}

// The number phases of matcher.ts that still need a byte (a lone "-", "1.", "1e", "1e+").
const NUM_MINUS = 0;
const NUM_DOT = 3;
const NUM_EXP = 5;
const NUM_EXP_SIGN = 6;

/** A key's bytes: its JSON text, quotes included. */
function keyBytes(name: string): number {
  return new TextEncoder().encode(JSON.stringify(name)).length;
}

/** Bytes that close a string from sub-state `sub`: the rest of an escape or a character, then the quote. */
function stringClose(sub: number): number {
  if (sub === S_PLAIN) return 1;
  if (sub === 1) return 2; // after a backslash: one escaped byte
  if (sub > 10 && sub <= 14) return sub - 10 + 1; // \u hex digits left
  if (sub > 20 && sub <= 23) return sub - 20 + 1; // UTF-8 continuation bytes left
  if (sub >= 30 && sub <= 31) return 2 + 1; // after E0/ED: two continuation bytes
  if (sub >= 32 && sub <= 33) return 3 + 1; // after F0/F4: three
  return 1;
}
