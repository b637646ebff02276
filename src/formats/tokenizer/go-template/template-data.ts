// Ollama's messages and tools as its templates see them (template/template.go: templateMessage, templateTool,
// templateToolCall; api.ToolProperty): Go structs with Go field names, argument and property maps that print as
// JSON with sorted keys, encoding/json's field order and omitempty.
import { fromJson, GoMap, GoSlice, GoStruct, isTrue, marshalJson, type GoType, type GoValue } from "./values.ts";

/** A message in Ollama's API shape (api.Message). */
export interface TemplateMessageInput {
  role: string;
  content?: string | null;
  thinking?: string | null;
  tool_calls?: { id?: string | null; function: { index?: number | null; name: string; arguments?: Record<string, unknown> | null } }[] | null;
  tool_name?: string | null;
  tool_call_id?: string | null;
}

/** A tool in Ollama's API shape (api.Tool). */
export interface TemplateToolInput {
  type?: string;
  items?: unknown;
  function: { name: string; description?: string; parameters?: Record<string, unknown> | null };
}

/** A type whose String() and MarshalJSON both give its JSON (Ollama's template types). */
function jsonType(name: string, json: () => string): GoType {
  return { name, string: json, json };
}

function omitEmpty(entries: [string, GoValue, boolean?][]): [string, GoValue][] {
  // the third element marks an omitempty field
  return entries.filter(([, v, omit]) => !omit || isTrue(v)).map(([k, v]) => [k, v]);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function arrayOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** api.ToolProperty (a JSON-schema property); its `type` is a PropertyType, a string or a list of strings. */
function toolProperty(p: Record<string, unknown>): GoStruct {
  const types = typeof p.type === "string" ? [p.type] : arrayOf(p.type).filter((t): t is string => typeof t === "string");
  const Type = new GoSlice(types, {
    name: "api.PropertyType",
    string: () => (types.length === 1 ? types[0]! : `[${types.join(" ")}]`),
    json: () => (types.length === 1 ? JSON.stringify(types[0]) : JSON.stringify(types)),
  });
  const fields: Record<string, GoValue> = {
    AnyOf: arrayOf(p.anyOf).map((x) => toolProperty(x as Record<string, unknown>)),
    Type,
    Items: fromJson(p.items),
    Description: str(p.description),
    Enum: arrayOf(p.enum).map(fromJson),
    Properties: p.properties && typeof p.properties === "object" ? orderedProperties(p.properties as Record<string, unknown>) : null,
    Required: arrayOf(p.required).map(str),
  };
  const f = fields;
  return new GoStruct({ name: "api.ToolProperty" }, fields, () =>
    omitEmpty([
      ["anyOf", f.AnyOf!, true],
      ["type", types.length > 0 ? Type : null, true],
      ["items", f.Items!, true],
      ["description", f.Description!, true],
      ["enum", f.Enum!, true],
      ["properties", f.Properties!, true],
      ["required", f.Required!, true],
    ]),
  );
}

/** *api.ToolPropertiesMap: nested properties keep their insertion order in JSON. */
function orderedProperties(props: Record<string, unknown>): GoMap {
  const entries = new Map<string, GoValue>(Object.entries(props).map(([k, v]) => [k, toolProperty(v as Record<string, unknown>)]));
  const json = () => `{${[...entries].map(([k, v]) => `${marshalJson(k)}:${marshalJson(v)}`).join(",")}}`;
  return new GoMap(entries, { name: "*api.ToolPropertiesMap", json }, () => null);
}

/** templateProperties: a plain Go map (sorted keys), printing as JSON, "{}" when nil. */
function templateProperties(props: unknown): GoMap {
  const entries = new Map<string, GoValue>();
  if (props && typeof props === "object") {
    for (const [k, v] of Object.entries(props as Record<string, unknown>)) entries.set(k, toolProperty(v as Record<string, unknown>));
  }
  const map: GoMap = new GoMap(entries, jsonType("template.templateProperties", () => marshalSorted(map)), () => toolProperty({}));
  return map;
}

/** A Go map's JSON, bypassing its own hooks (so a type's MarshalJSON can delegate to the plain encoding). */
function marshalSorted(map: GoMap): string {
  return marshalJson(new GoMap(map.entries));
}

function templateTool(tool: TemplateToolInput): GoStruct {
  const params = tool.function.parameters ?? {};
  const Parameters = new GoStruct(
    { name: "template.templateToolFunctionParameters" },
    {
      Type: str(params.type),
      Defs: fromJson(params.$defs),
      Items: fromJson(params.items),
      Required: arrayOf(params.required).map(str),
      Properties: templateProperties(params.properties),
    },
    () =>
      omitEmpty([
        ["type", str(params.type)],
        ["$defs", fromJson(params.$defs), true],
        ["items", fromJson(params.items), true],
        ["required", arrayOf(params.required).map(str), true],
        ["properties", templateProperties(params.properties)],
      ]),
  );
  const fnFields = { Name: tool.function.name, Description: str(tool.function.description), Parameters };
  const fnJson = () => marshalJson(new GoStruct({ name: "" }, { name: fnFields.Name, description: fnFields.Description, parameters: Parameters }));
  // Ollama's templateToolFunction has no String method, so {{ .Function }} would print a Go struct literal there;
  // before that type existed it printed JSON (api.ToolFunction.String), which templates such as qwen2.5's expect.
  const Function = new GoStruct(jsonType("template.templateToolFunction", fnJson), fnFields);
  const fields = { Type: str(tool.type) || "function", Items: fromJson(tool.items), Function };
  const json = () =>
    marshalJson(new GoStruct({ name: "" }, Object.fromEntries(omitEmpty([["type", fields.Type], ["items", fields.Items, true], ["function", Function]]))));
  return new GoStruct(jsonType("template.templateTool", json), fields);
}

/** templateTools: the .Tools slice; prints as its JSON. */
export function templateTools(tools: TemplateToolInput[] | undefined): GoValue {
  if (!tools) return new GoSlice([], jsonType("template.templateTools", () => "null"));
  const items = tools.map(templateTool);
  return new GoSlice(items, jsonType("template.templateTools", () => `[${items.map(marshalJson).join(",")}]`));
}

function templateArgs(args: Record<string, unknown> | null | undefined): GoMap {
  const map: GoMap = new GoMap(
    new Map(Object.entries(args ?? {}).map(([k, v]) => [k, fromJson(v)])),
    jsonType("template.templateArgs", () => marshalSorted(map)),
  );
  return map;
}

function templateToolCall(call: NonNullable<TemplateMessageInput["tool_calls"]>[number]): GoStruct {
  const Function = new GoStruct(
    { name: "template.templateToolCallFunction" },
    { Index: call.function.index ?? 0, Name: call.function.name, Arguments: templateArgs(call.function.arguments) },
  );
  return new GoStruct({ name: "template.templateToolCall" }, { ID: call.id ?? "", Function });
}

export function templateMessage(m: TemplateMessageInput): GoStruct {
  const calls = m.tool_calls?.map(templateToolCall);
  const fields: Record<string, GoValue> = {
    Role: m.role,
    Content: m.content ?? "",
    Thinking: m.thinking ?? "",
    Images: [],
    ToolCalls: calls ?? [],
    ToolName: m.tool_name ?? "",
    ToolCallID: m.tool_call_id ?? "",
  };
  // no json tags on templateMessage: Go field names, nil slices as null
  return new GoStruct({ name: "*template.templateMessage" }, fields, () =>
    Object.entries({ ...fields, Images: null, ToolCalls: calls ?? null }),
  );
}
