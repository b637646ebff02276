// A JSON Schema compiled into the node graph the byte matcher walks. The subset is what structured-output
// clients send in practice (OpenAI's strict mode, pydantic, Ollama's examples): type (one or a list),
// properties / required / additionalProperties, items / minItems / maxItems, enum, const, anyOf / oneOf,
// minLength / maxLength, local $ref ("#/$defs/x", "#/definitions/x", "#"). Keywords that only narrow a
// value further (pattern, format, minimum, multipleOf, ...) are not enforced: the output is still JSON of
// the right shape. Keywords whose meaning we cannot honour (not, if/then/else, prefixItems, several allOf
// branches, patternProperties) are refused, so a client never gets output that silently ignores them.
//
// Generation closes objects that list properties: additionalProperties defaults to false here (a schema
// with properties means "these keys"), as llama.cpp's and xgrammar's converters do.

export class ConstraintError extends Error {
  override name = "ConstraintError";
}

/** A set of literal byte strings (enum values, property names, fixed text) as a trie. */
export class LiteralTrie {
  readonly next: Map<number, number>[] = [new Map()];
  /** the value index a node completes, or -1 */
  readonly final: number[] = [-1];
  /** bitmask of the value indices below a node (property tries: which keys are still reachable) */
  readonly under: number[] = [0];

  constructor(readonly id: number, values: readonly Uint8Array[]) {
    values.forEach((bytes, index) => {
      let at = 0;
      this.under[0]! |= bit(index);
      for (const b of bytes) {
        let child = this.next[at]!.get(b);
        if (child === undefined) {
          child = this.next.length;
          this.next.push(new Map());
          this.final.push(-1);
          this.under.push(0);
          this.next[at]!.set(b, child);
        }
        at = child;
        this.under[at]! |= bit(index);
      }
      this.final[at] = index;
    });
  }
}

/** Property sets are bitmasks: 30 keys per object keeps them small integers. */
export const MAX_PROPERTIES = 30;
export const bit = (i: number) => (i < MAX_PROPERTIES ? 1 << i : 0);

export interface PropertySpec {
  name: string;
  node: SchemaNode;
}

export type SchemaNode =
  | { kind: "any"; id: number }
  | { kind: "object"; id: number; props: PropertySpec[]; keys: LiteralTrie | null; required: number; additional: SchemaNode | null }
  | { kind: "array"; id: number; items: SchemaNode; min: number; max: number }
  | { kind: "string"; id: number; min: number; max: number }
  | { kind: "number"; id: number; integer: boolean }
  | { kind: "literal"; id: number; trie: LiteralTrie }
  | { kind: "anyOf"; id: number; options: SchemaNode[] };

const utf8 = new TextEncoder();
const REFUSED = ["not", "if", "then", "else", "prefixItems", "patternProperties", "dependentSchemas", "unevaluatedProperties"];

type Json = Record<string, unknown>;

/** One compiled language: node ids are unique within it (mask caches key on them). */
export class SchemaProgram {
  private nextId = 0;
  private readonly memo = new Map<unknown, SchemaNode>();
  /** the fixed shapes `any` expands into, built on first use */
  private anyParts: { object: SchemaNode; array: SchemaNode; string: SchemaNode; number: SchemaNode; literal: SchemaNode } | null = null;
  readonly any: SchemaNode = { kind: "any", id: this.id() };

  constructor(private readonly root: unknown = true) {}

  id(): number {
    return this.nextId++;
  }

  literal(values: readonly Uint8Array[]): LiteralTrie {
    return new LiteralTrie(this.id(), values);
  }

  /** The node `any` becomes once the first byte of a value is known. */
  anyPart(b: number): SchemaNode | null {
    const p = (this.anyParts ??= {
      object: { kind: "object", id: this.id(), props: [], keys: null, required: 0, additional: this.any },
      array: { kind: "array", id: this.id(), items: this.any, min: 0, max: Infinity },
      string: { kind: "string", id: this.id(), min: 0, max: Infinity },
      number: { kind: "number", id: this.id(), integer: false },
      literal: { kind: "literal", id: this.id(), trie: this.literal(["true", "false", "null"].map((s) => utf8.encode(s))) },
    });
    if (b === 0x7b) return p.object;
    if (b === 0x5b) return p.array;
    if (b === 0x22) return p.string;
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) return p.number;
    if (b === 0x74 || b === 0x66 || b === 0x6e) return p.literal;
    return null;
  }

  compile(schema: unknown, path = "#"): SchemaNode {
    if (schema === true || schema === undefined) return this.any;
    if (schema === false) throw new ConstraintError(`${path}: the schema false accepts no value`);
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
      throw new ConstraintError(`${path}: a schema must be an object or a boolean`);
    }
    const known = this.memo.get(schema);
    if (known) return known;
    const s = schema as Json;
    for (const k of REFUSED) if (k in s) throw new ConstraintError(`${path}: "${k}" is not supported in format schemas`);
    if (typeof s.$ref === "string") {
      const node = this.compile(this.resolve(s.$ref), s.$ref);
      this.memo.set(schema, node);
      return node;
    }
    if ("const" in s) return this.remember(schema, { kind: "literal", id: this.id(), trie: this.literal([utf8.encode(JSON.stringify(s.const))]) });
    if (Array.isArray(s.enum)) {
      if (s.enum.length === 0) throw new ConstraintError(`${path}: an empty enum accepts no value`);
      return this.remember(schema, { kind: "literal", id: this.id(), trie: this.literal(s.enum.map((v) => utf8.encode(JSON.stringify(v)))) });
    }
    const branches = (s.anyOf ?? s.oneOf) as unknown;
    if (Array.isArray(branches)) {
      const node: SchemaNode = { kind: "anyOf", id: this.id(), options: [] };
      this.memo.set(schema, node);
      branches.forEach((b, i) => node.options.push(this.compile(b, `${path}/anyOf/${i}`)));
      return node;
    }
    if (Array.isArray(s.allOf)) {
      if (s.allOf.length !== 1) throw new ConstraintError(`${path}: "allOf" with several schemas is not supported in format schemas`);
      return this.compile(s.allOf[0], `${path}/allOf/0`);
    }
    const type = s.type ?? inferType(s);
    if (Array.isArray(type)) {
      const node: SchemaNode = { kind: "anyOf", id: this.id(), options: [] };
      this.memo.set(schema, node);
      for (const t of type) node.options.push(this.typed(s, String(t), path));
      return node;
    }
    if (type === undefined) return this.any;
    return this.typed(s, String(type), path);
  }

  private remember(schema: object, node: SchemaNode): SchemaNode {
    this.memo.set(schema, node);
    return node;
  }

  /** Registers a node before its children compile, so a $ref cycle back to it ends; a type list's anyOf keeps its claim. */
  private claim(schema: object, node: SchemaNode): void {
    if (!this.memo.has(schema)) this.memo.set(schema, node);
  }

  private typed(s: Json, type: string, path: string): SchemaNode {
    switch (type) {
      case "object":
        return this.object(s, path);
      case "array": {
        if (Array.isArray(s.items)) throw new ConstraintError(`${path}: tuple "items" is not supported in format schemas`);
        const node: SchemaNode = { kind: "array", id: this.id(), items: this.any, min: count(s.minItems, 0), max: count(s.maxItems, Infinity) };
        this.claim(s, node);
        node.items = this.compile(s.items ?? true, `${path}/items`);
        if (node.min > node.max) throw new ConstraintError(`${path}: minItems is larger than maxItems`);
        return node;
      }
      case "string": {
        const min = count(s.minLength, 0);
        const max = count(s.maxLength, Infinity);
        if (min > max) throw new ConstraintError(`${path}: minLength is larger than maxLength`);
        return { kind: "string", id: this.id(), min, max };
      }
      case "number":
      case "integer":
        return { kind: "number", id: this.id(), integer: type === "integer" };
      case "boolean":
        return { kind: "literal", id: this.id(), trie: this.literal([utf8.encode("true"), utf8.encode("false")]) };
      case "null":
        return { kind: "literal", id: this.id(), trie: this.literal([utf8.encode("null")]) };
      default:
        throw new ConstraintError(`${path}: unknown type ${JSON.stringify(type)}`);
    }
  }

  private object(s: Json, path: string): SchemaNode {
    const properties = (s.properties ?? {}) as Json;
    const names = Object.keys(properties);
    if (names.length > MAX_PROPERTIES) throw new ConstraintError(`${path}: at most ${MAX_PROPERTIES} properties per object are supported`);
    const node: SchemaNode = { kind: "object", id: this.id(), props: [], keys: null, required: 0, additional: null };
    this.claim(s, node);
    for (const name of names) node.props.push({ name, node: this.compile(properties[name], `${path}/properties/${name}`) });
    // A key's bytes after the opening quote: its JSON-escaped text and the closing quote.
    if (names.length > 0) node.keys = this.literal(names.map((n) => utf8.encode(JSON.stringify(n).slice(1))));
    for (const r of (s.required ?? []) as unknown[]) {
      const i = names.indexOf(String(r));
      if (i < 0) throw new ConstraintError(`${path}: required property ${JSON.stringify(r)} is not in properties`);
      node.required |= bit(i);
    }
    const extra = s.additionalProperties;
    if (names.length === 0) node.additional = extra === false ? null : this.compile(extra ?? true, `${path}/additionalProperties`);
    else if (extra !== undefined && extra !== false) node.additional = this.compile(extra, `${path}/additionalProperties`);
    return node;
  }

  private resolve(ref: string): unknown {
    if (ref === "#") return this.root;
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
    const defs = m ? ((this.root as Json)?.[m[1]!] as Json | undefined) : undefined;
    const target = m && defs ? defs[decodeURIComponent(m[2]!).replaceAll("~1", "/").replaceAll("~0", "~")] : undefined;
    if (target === undefined) throw new ConstraintError(`unsupported or unresolved $ref ${JSON.stringify(ref)} (only local #/$defs/... refs are supported)`);
    return target;
  }
}

function inferType(s: Json): string | undefined {
  if ("properties" in s || "required" in s || "additionalProperties" in s) return "object";
  if ("items" in s || "minItems" in s || "maxItems" in s) return "array";
  if ("minLength" in s || "maxLength" in s) return "string";
  return undefined;
}

function count(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : fallback;
}
