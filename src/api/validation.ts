// The 400 message for a body that fails its schema: the schema's own message where it has one (Ollama's exact
// text, e.g. `option "top_k" must be of type integer`), else Go's decoder error, which Ollama returns verbatim:
// `json: cannot unmarshal string into Go struct field GenerateRequest.stream of type bool`.
// Routes' onError can call it with Elysia's ValidationError: validationMessage(error.validator, error.value).
import type { TSchema } from "elysia";
import { TypeCompiler, type TypeCheck } from "elysia/type-system";
import type { ValueError } from "@sinclair/typebox/errors";
import { goJsonKind } from "../schemas/go-json.ts";

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerFor(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

/** A schema, or a compiled checker that carries one (Elysia's validators do). */
type SchemaSource = TSchema | { schema: TSchema } | unknown;

function schemaOf(source: SchemaSource): TSchema | undefined {
  if (!source || typeof source !== "object") return undefined;
  const withSchema = source as { schema?: unknown; Errors?: unknown };
  if (typeof withSchema.Errors === "function" && withSchema.schema && typeof withSchema.schema === "object") {
    return withSchema.schema as TSchema;
  }
  return source as TSchema;
}

const isNullSchema = (schema: TSchema) => schema.type === "null";

/**
 * The error to report: a union without its own message (a nullable field) reports its non-null branch's error,
 * so `"options": {"top_k": "x"}` names top_k rather than "Expected union value".
 */
function reportable(error: ValueError): ValueError {
  let current = error;
  while (current.schema.error === undefined && current.errors.length > 0) {
    const branches = current.errors
      .map((iterator) => iterator.First())
      .filter((e): e is ValueError => e !== undefined && !isNullSchema(e.schema));
    if (branches.length !== 1) break;
    current = branches[0]!;
  }
  return current;
}

/** The Go type name a schema decodes into, as Go's UnmarshalTypeError prints it (approximate for unions). */
function goTypeOf(schema: TSchema): string {
  if (schema.anyOf) {
    const concrete = (schema.anyOf as TSchema[]).filter((s) => !isNullSchema(s));
    return concrete.length === 1 ? goTypeOf(concrete[0]!) : "interface {}";
  }
  switch (schema.type) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "integer":
      return "int";
    case "number":
      return "float64";
    case "array":
      return `[]${schema.items ? goTypeOf(schema.items as TSchema) : "interface {}"}`;
    case "object":
      return schema.title ? `api.${schema.title}` : "map[string]interface {}";
    default:
      return "interface {}";
  }
}

function nonNull(schema: TSchema | undefined): TSchema | undefined {
  if (!schema?.anyOf) return schema;
  return (schema.anyOf as TSchema[]).find((s) => !isNullSchema(s)) ?? schema;
}

/** Go names the innermost struct and the field path without indices: "Message" + "messages.content". */
function goField(root: TSchema, path: string): { struct: string; field: string } {
  let struct = typeof root.title === "string" ? root.title : "";
  let node: TSchema | undefined = root;
  const fields: string[] = [];
  for (const segment of path.split("/").filter(Boolean)) {
    node = nonNull(node);
    if (!node) break;
    if (node.type === "array") {
      node = node.items as TSchema;
      if (typeof node?.title === "string") struct = node.title;
    } else if (node.type === "object") {
      fields.push(segment);
      node = (node.properties as Record<string, TSchema> | undefined)?.[segment];
    }
  }
  return { struct, field: fields.join(".") };
}

/**
 * A schema may set `x-error-status` beside its `error` message when Ollama answers that case with another status
 * than 400 (a missing model on generate/embed is 404 `model '' not found`).
 */
export const ERROR_STATUS = "x-error-status";

export interface ValidationFailure {
  status: number;
  message: string;
}

/** null when the body is valid; otherwise the status and message Ollama would answer with. */
export function validationFailure(source: SchemaSource, body: unknown): ValidationFailure | null {
  const schema = schemaOf(source);
  if (!schema) return null;
  const first = checkerFor(schema).Errors(body).First();
  if (!first) return null;
  const error = reportable(first);
  const status: unknown = error.schema[ERROR_STATUS];
  const message = messageOf(schema, body, error);
  return { status: typeof status === "number" && error.value === undefined ? status : 400, message };
}

/** null when the body is valid; otherwise the message Ollama would answer with. */
export function validationMessage(source: SchemaSource, body: unknown): string | null {
  return validationFailure(source, body)?.message ?? null;
}

const JSON_TYPE_OF: Record<string, (value: unknown) => boolean> = {
  string: (v) => typeof v === "string",
  boolean: (v) => typeof v === "boolean",
  number: (v) => typeof v === "number",
  integer: (v) => typeof v === "number",
  array: Array.isArray,
};

/**
 * Go's decoder fails on a present value of the wrong JSON type before any handler check runs, so a field's own
 * message (say "model is required") is only for what the handler sees: a missing or otherwise invalid value.
 */
function decoderRejects(error: ValueError): boolean {
  const isType = typeof error.schema.type === "string" ? JSON_TYPE_OF[error.schema.type] : undefined;
  return error.value !== undefined && isType !== undefined && !isType(error.value);
}

function messageOf(schema: TSchema, body: unknown, error: ValueError): string {
  // a body that is JSON but not an object: json.Unmarshal into the request struct itself
  if (error.path === "" && schema.type === "object") {
    return `json: cannot unmarshal ${goJsonKind(error.value)} into Go value of type ${goTypeOf(schema)}`;
  }
  const custom: unknown = error.schema.error;
  if (typeof custom === "string" && !decoderRejects(error)) return custom;
  if (typeof custom === "function") {
    const value = error.value;
    // the same callback Elysia would call, handed a checker whose first error is this one
    const single = { Errors: () => ({ First: () => error }) };
    const detail = { type: "validation", on: "body", found: body, value, errors: [error] };
    return String((custom as (d: typeof detail, v: typeof single) => unknown)(detail, single));
  }
  const { struct, field } = goField(schema, error.path);
  if (error.value === undefined) return `missing required field ${JSON.stringify(field)}`;
  const kind = goJsonKind(error.value);
  const value = kind === "number" && error.schema.type === "integer" && !Number.isInteger(error.value) ? `number ${error.value}` : kind;
  return `json: cannot unmarshal ${value} into Go struct field ${struct}.${field} of type ${goTypeOf(error.schema)}`;
}
