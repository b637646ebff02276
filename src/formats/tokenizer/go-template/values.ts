// The Go values a template sees, with the behaviour text/template gives them: structs (fixed fields, an error on an
// unknown one), maps (sorted iteration, a zero value for a missing key), int vs float64, nil that prints
// "<no value>", and the String()/MarshalJSON methods Ollama's template types define (template/template.go).

/** A Go float64 (JSON numbers decode to float64 in Go); a bare JS number is a Go int. */
export class GoFloat {
  constructor(readonly value: number) {}
}

/** What a Go type adds to its value: its name (for error messages), a String() method, a MarshalJSON method. */
export interface GoType {
  name: string;
  string?: () => string;
  json?: () => string;
}

export class GoMap {
  constructor(
    readonly entries: Map<string, GoValue>,
    readonly type: GoType = { name: "map[string]interface {}" },
    /** the element type's zero value, what a missing key yields (nil for interface{} elements) */
    readonly zero: () => GoValue = () => null,
  ) {}
  /** Go iterates (range, fmt, encoding/json) over a map's keys in sorted order. */
  sortedKeys(): string[] {
    return [...this.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

export class GoStruct {
  constructor(
    readonly type: GoType,
    readonly fields: Record<string, GoValue>,
    /** encoding/json's view: tagged names, omitempty applied; default: every field under its Go name */
    readonly jsonFields?: () => [string, GoValue][],
  ) {}
}

/** A slice that carries a Go type (templateTools, PropertyType) with its methods. */
export class GoSlice {
  constructor(
    readonly items: GoValue[],
    readonly type: GoType,
  ) {}
}

export type GoValue = string | number | boolean | null | GoFloat | GoValue[] | GoSlice | GoMap | GoStruct;

export function itemsOf(v: GoValue): GoValue[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof GoSlice) return v.items;
  return undefined;
}

export function typeName(v: GoValue): string {
  if (v === null) return "<nil>";
  if (typeof v === "string") return "string";
  if (typeof v === "number") return "int";
  if (typeof v === "boolean") return "bool";
  if (v instanceof GoFloat) return "float64";
  if (Array.isArray(v)) return "[]interface {}";
  return v.type.name;
}

/** Go's `truth`: false, 0, nil and empty strings, slices and maps are false; any struct is true. */
export function isTrue(v: GoValue): boolean {
  if (v === null) return false;
  if (typeof v === "string") return v.length > 0;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "boolean") return v;
  if (v instanceof GoFloat) return v.value !== 0;
  if (v instanceof GoMap) return v.entries.size > 0;
  if (v instanceof GoStruct) return true;
  return (itemsOf(v) ?? []).length > 0;
}

/** strconv.FormatFloat(f, 'g', -1, 64), which fmt's %v uses: shortest digits, exponent when exp < -4 or >= 6. */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (!Number.isFinite(f)) return f > 0 ? "+Inf" : "-Inf";
  if (f === 0) return Object.is(f, -0) ? "-0" : "0";
  const [mantissa, expText] = f.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  // strconv: "if precision was the shortest possible, use precision 6 for this decision" (so 1e6 prints 1e+06)
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? "-" : "+";
    const digits = String(Math.abs(exp)).padStart(2, "0");
    return `${mantissa}e${sign}${digits}`;
  }
  return String(f);
}

/** fmt.Sprint of one operand (%v). `nested`: inside a slice/map/struct, where nil prints "<nil>". */
export function formatValue(v: GoValue, nested = false): string {
  if (v === null) return nested ? "<nil>" : "<no value>";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v instanceof GoFloat) return formatFloat(v.value);
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x, true)).join(" ")}]`;
  if (v.type.string) return v.type.string();
  if (v instanceof GoSlice) return `[${v.items.map((x) => formatValue(x, true)).join(" ")}]`;
  if (v instanceof GoMap) return `map[${v.sortedKeys().map((k) => `${k}:${formatValue(v.entries.get(k) ?? null, true)}`).join(" ")}]`;
  return `{${Object.values(v.fields).map((x) => formatValue(x, true)).join(" ")}}`;
}

/** encoding/json's string escaping: like JSON.stringify, plus <, >, & and U+2028/9 escaped (HTML-safe). */
function jsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** json.Marshal: struct fields in declaration order (tags applied), map keys sorted, float64 like encoding/json. */
export function marshalJson(v: GoValue): string {
  if (v === null) return "null";
  if (typeof v === "string") return jsonString(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  // encoding/json and JSON.stringify agree on float formatting (exponent below 1e-6 and from 1e21)
  if (v instanceof GoFloat) return Number.isFinite(v.value) ? JSON.stringify(v.value) : "null";
  if (Array.isArray(v)) return `[${v.map(marshalJson).join(",")}]`;
  if (v.type.json) return v.type.json();
  if (v instanceof GoSlice) return `[${v.items.map(marshalJson).join(",")}]`;
  const entries: [string, GoValue][] =
    v instanceof GoMap
      ? v.sortedKeys().map((k) => [k, v.entries.get(k) ?? null])
      : (v.jsonFields?.() ?? Object.entries(v.fields));
  return `{${entries.map(([k, x]) => `${jsonString(k)}:${marshalJson(x)}`).join(",")}}`;
}

/** A JSON value decoded the way Go decodes into `any`: objects → map[string]interface{}, numbers → float64. */
export function fromJson(v: unknown): GoValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return new GoFloat(v);
  if (Array.isArray(v)) return v.map(fromJson);
  if (typeof v === "object") {
    return new GoMap(new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromJson(x)])));
  }
  return null;
}
