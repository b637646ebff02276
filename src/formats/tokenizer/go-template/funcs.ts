// text/template's builtin functions (funcs.go) and the ones Ollama adds (template/template.go: json, currentDate,
// yesterdayDate, toTypeScriptType). `and`/`or` short-circuit, so exec.ts evaluates them itself.
import { formatFloat, formatValue, GoFloat, GoMap, GoStruct, isTrue, itemsOf, marshalJson, typeName, type GoValue } from "./values.ts";

export class FuncError extends Error {}

type Kind = "invalid" | "bool" | "int" | "float" | "string" | "other";

function kindOf(v: GoValue): Kind {
  if (v === null) return "invalid";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "int";
  if (v instanceof GoFloat) return "float";
  if (typeof v === "string") return "string";
  return "other";
}

function scalar(v: GoValue): string | number | boolean {
  return v instanceof GoFloat ? v.value : (v as string | number | boolean);
}

/** eq: true when the first argument equals any of the others; mixed basic kinds are an error (funcs.go eq). */
function eq(a: GoValue, ...others: GoValue[]): boolean {
  if (others.length === 0) throw new FuncError("missing argument for comparison");
  const k1 = kindOf(a);
  for (const b of others) {
    const k2 = kindOf(b);
    if (k1 !== k2) {
      if (k1 !== "invalid" && k2 !== "invalid") throw new FuncError("incompatible types for comparison");
      continue;
    }
    if (k1 === "other") {
      if (itemsOf(a) || a instanceof GoMap) throw new FuncError(`non-comparable type ${formatValue(a)}: ${typeName(a)}`);
      if (a === b) return true;
    } else if (k1 === "invalid" || scalar(a) === scalar(b)) return true;
  }
  return false;
}

function compare(a: GoValue, b: GoValue): number {
  const k1 = kindOf(a);
  const k2 = kindOf(b);
  if (k1 !== "int" && k1 !== "float" && k1 !== "string") throw new FuncError("invalid type for comparison");
  if (k1 !== k2) throw new FuncError("incompatible types for comparison");
  const x = scalar(a);
  const y = scalar(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const utf8 = new TextEncoder();

function len(v: GoValue): number {
  if (typeof v === "string") return utf8.encode(v).length; // Go's len counts bytes
  const items = itemsOf(v);
  if (items) return items.length;
  if (v instanceof GoMap) return v.entries.size;
  if (v === null) throw new FuncError("len of nil pointer");
  throw new FuncError(`len of type ${typeName(v)}`);
}

function intIndex(i: GoValue): number {
  if (typeof i !== "number") throw new FuncError(`cannot index slice/array with type ${typeName(i)}`);
  return i;
}

function index(item: GoValue, ...keys: GoValue[]): GoValue {
  let v = item;
  for (const key of keys) {
    if (v === null) throw new FuncError("index of untyped nil");
    const items = itemsOf(v);
    if (items) {
      const i = intIndex(key);
      if (i < 0 || i >= items.length) throw new FuncError(`error calling index: index out of range: ${i}`);
      v = items[i]!;
    } else if (v instanceof GoMap) {
      if (typeof key !== "string") throw new FuncError(`value has type ${typeName(key)}; should be string`);
      v = v.entries.has(key) ? v.entries.get(key)! : v.zero();
    } else throw new FuncError(`can't index item of type ${typeName(v)}`);
  }
  return v;
}

function slice(item: GoValue, ...bounds: GoValue[]): GoValue {
  const size = typeof item === "string" ? item.length : itemsOf(item)?.length;
  if (size === undefined) throw new FuncError(`can't slice item of type ${typeName(item)}`);
  if (bounds.length > 3 || (typeof item === "string" && bounds.length > 2)) throw new FuncError("too many slice indexes");
  const [lo = 0, hi = size] = bounds.map(intIndex);
  if (lo < 0 || hi < lo || hi > size) throw new FuncError(`error calling slice: index out of range: ${hi > size ? hi : lo}`);
  if (typeof item === "string") return item.slice(lo, hi);
  return itemsOf(item)!.slice(lo, hi);
}

/** fmt.Sprint: operands separated by a space when neither side is a string. */
function sprint(args: GoValue[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += formatValue(a);
  });
  return out;
}

function pad(s: string, width: number | undefined, flags: string): string {
  if (width === undefined || s.length >= width) return s;
  if (flags.includes("-")) return s.padEnd(width);
  if (flags.includes("0") && /^[+-]?[0-9.]/.test(s)) {
    const sign = /^[+-]/.test(s) ? s[0]! : "";
    return sign + s.slice(sign.length).padStart(width - sign.length, "0");
  }
  return s.padStart(width);
}

/** fmt.Sprintf for the common verbs (%v %s %d %q %t %f %g %e %x %c %%); a wrong operand prints %!verb(type=value). */
function sprintf(format: string, args: GoValue[]): string {
  let n = 0;
  const out = format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (_m, flags: string, w?: string, p?: string, verb?: string) => {
    if (verb === "%") return "%";
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++]!;
    const width = w === undefined ? undefined : Number(w);
    const prec = p === undefined ? undefined : Number(p);
    const bad = () => `%!${verb}(${typeName(a)}=${formatValue(a)})`;
    const num = typeof a === "number" ? a : a instanceof GoFloat ? a.value : undefined;
    let s: string;
    switch (verb) {
      case "v":
        s = flags.includes("#") && typeof a === "string" ? JSON.stringify(a) : formatValue(a);
        break;
      case "s":
        s = typeof a === "string" || (a !== null && typeof a === "object" && !(a instanceof GoFloat)) ? formatValue(a) : bad();
        if (prec !== undefined && typeof a === "string") s = s.slice(0, prec);
        break;
      case "q":
        s = typeof a === "string" ? JSON.stringify(a) : bad();
        break;
      case "t":
        s = typeof a === "boolean" ? String(a) : bad();
        break;
      case "d":
        s = typeof a === "number" ? (flags.includes("+") && a >= 0 ? "+" : "") + String(a) : bad();
        break;
      case "c":
        s = typeof a === "number" ? String.fromCodePoint(a) : bad();
        break;
      case "x":
      case "X": {
        const hex = typeof a === "number" ? a.toString(16) : typeof a === "string" ? Buffer.from(a).toString("hex") : bad();
        s = verb === "X" ? hex.toUpperCase() : hex;
        break;
      }
      case "f":
      case "F":
      case "e":
      case "g":
        if (num === undefined || typeof a === "number") s = bad();
        else if (verb === "g") s = prec === undefined ? formatFloat(num) : String(Number(num.toPrecision(prec)));
        else if (verb === "e") s = num.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, "e$10$2");
        else s = num.toFixed(prec ?? 6);
        break;
      default:
        s = `%!${verb}(${typeName(a)}=${formatValue(a)})`;
    }
    return pad(s, width, flags);
  });
  if (n < args.length) return `${out}%!(EXTRA ${args.slice(n).map((a) => `${typeName(a)}=${formatValue(a)}`).join(", ")})`;
  return out;
}

function localDate(offsetDays: number): string {
  const d = new Date(Date.now() - offsetDays * 86_400_000);
  const two = (x: number) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

const TS_TYPES: Record<string, string> = {
  string: "string", number: "number", integer: "number", boolean: "boolean", array: "any[]",
  object: "Record<string, any>", null: "null",
};

/** api.ToolProperty.ToTypeScriptType: anyOf and type lists joined with " | "; anything else is "any". */
export function toTypeScriptType(v: GoValue): string {
  if (!(v instanceof GoStruct) || v.type.name !== "api.ToolProperty") return "any";
  const anyOf = itemsOf(v.fields.AnyOf ?? null) ?? [];
  if (anyOf.length > 0) return anyOf.map(toTypeScriptType).join(" | ");
  const types = (itemsOf(v.fields.Type ?? null) ?? []) as string[];
  if (types.length === 0) return "any";
  return types.map((t) => TS_TYPES[t] ?? "any").join(" | ");
}

/** Calls a builtin other than and/or with evaluated arguments. */
export function callFunc(name: string, args: GoValue[]): GoValue {
  const arity = (n: number) => {
    if (args.length !== n) throw new FuncError(`wrong number of args for ${name}: want ${n} got ${args.length}`);
  };
  switch (name) {
    case "not":
      arity(1);
      return !isTrue(args[0]!);
    case "len":
      arity(1);
      return len(args[0]!);
    case "index":
      if (args.length === 0) throw new FuncError("wrong number of args for index: want at least 1 got 0");
      return index(args[0]!, ...args.slice(1));
    case "slice":
      if (args.length === 0) throw new FuncError("wrong number of args for slice: want at least 1 got 0");
      return slice(args[0]!, ...args.slice(1));
    case "eq":
      if (args.length < 2) throw new FuncError("missing argument for comparison");
      return eq(args[0]!, ...args.slice(1));
    case "ne":
      arity(2);
      return !eq(args[0]!, args[1]!);
    case "lt":
    case "le":
    case "gt":
    case "ge": {
      arity(2);
      const c = compare(args[0]!, args[1]!);
      return name === "lt" ? c < 0 : name === "le" ? c <= 0 : name === "gt" ? c > 0 : c >= 0;
    }
    case "print":
      return sprint(args);
    case "println":
      return `${args.map((a) => formatValue(a)).join(" ")}\n`;
    case "printf":
      if (typeof args[0] !== "string") throw new FuncError("printf: the format must be a string");
      return sprintf(args[0], args.slice(1));
    case "json":
      arity(1);
      return marshalJson(args[0]!);
    case "currentDate":
      return localDate(0);
    case "yesterdayDate":
      return localDate(1);
    case "toTypeScriptType":
      arity(1);
      return toTypeScriptType(args[0]!);
  }
  throw new FuncError(`function "${name}" not defined`);
}
