// How Go's encoding/json sees a request body: which JSON values it treats as "unset", and how it names
// types in error messages. Ollama's errors quote these names, so we reproduce them (api/types.go, Go's decode.go).
import { t, type TSchema } from "elysia";
import { Type, type IntegerOptions } from "@sinclair/typebox";

/**
 * A JSON integer (Go int). Elysia's t.Integer also accepts numeric strings (for query strings); Go's decoder
 * rejects "5" for an int field, so bodies use TypeBox's plain integer.
 */
export const Int = (options?: IntegerOptions) => Type.Integer(options);

/**
 * A request field that may be absent or null: Go's decoder leaves a field untouched on `null`,
 * so Ollama accepts `"stream": null` as if the key were missing.
 */
export function Omittable<T extends TSchema>(schema: T, options: { description?: string } = {}) {
  // The custom message (Elysia's `error`) and docs of the inner schema must sit on the union that fails.
  const inherited: Record<string, unknown> = {};
  if (schema.error !== undefined) inherited.error = schema.error;
  if (schema.description !== undefined) inherited.description = schema.description;
  return t.Optional(t.Union([schema, t.Null()], { ...inherited, ...options }));
}

/** The JSON kind Go names in `json: cannot unmarshal <kind> into ...` (numbers that don't fit an int add the text). */
export function goJsonKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
      return "number";
    case "boolean":
      return "bool";
    default:
      return "object";
  }
}

/** What Go's `%T` prints for a value decoded into `any` (encoding/json's generic types). */
export function goDynamicType(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (Array.isArray(value)) return "[]interface {}";
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
      return "float64";
    case "boolean":
      return "bool";
    default:
      return "map[string]interface {}";
  }
}

/** Go's `%q` of a string: a double-quoted, escaped literal (JSON's escaping matches for printable text). */
export function goQuote(text: string): string {
  return JSON.stringify(text);
}
