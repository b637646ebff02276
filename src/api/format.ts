// Ollama's `format` → the constraint the runner enforces: "json" → any JSON object; an object → that JSON
// schema; "" / null / absent → none (llm/server.go). A schema is checked twice before anything loads: that
// it is valid JSON Schema (ajv's meta-schema), and that the engine can enforce it (its subset).
import { Ajv2020 } from "ajv/dist/2020.js";
import { ConstraintError, SchemaProgram } from "../engine/constrain/schema.ts";
import type { OutputConstraint } from "../engine/protocol.ts";
import { InvalidRequestError } from "./errors.ts";

// strict: false lets through the annotation keywords clients add (title, examples, x-...).
const ajv = new Ajv2020({ strict: false, validateFormats: false });

export function formatConstraint(format: unknown): OutputConstraint | undefined {
  if (format === undefined || format === null || format === "") return undefined;
  if (format === "json") return { kind: "json" };
  if (typeof format !== "object" || Array.isArray(format)) {
    throw new InvalidRequestError(`invalid format: ${JSON.stringify(JSON.stringify(format))}; expected "json" or a valid JSON Schema object`);
  }
  const schema = format as Record<string, unknown>;
  checkSchema(schema);
  return { kind: "json_schema", schema };
}

/** Throws a 400 naming what is wrong with a schema the engine would be asked to enforce. */
export function checkSchema(schema: Record<string, unknown>): void {
  // A draft-07 "$schema" URL is not registered with the 2020-12 validator; the keywords we read mean the same.
  const { $schema: _ignored, ...body } = schema;
  try {
    ajv.compile(body);
  } catch (e) {
    throw new InvalidRequestError(`invalid JSON schema in format: ${(e as Error).message}`);
  }
  try {
    new SchemaProgram(schema).compile(schema);
  } catch (e) {
    if (e instanceof ConstraintError) throw new InvalidRequestError(`unsupported JSON schema in format: ${e.message}`);
    throw e;
  }
}
