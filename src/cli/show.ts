// `ollmlx show MODEL` (POST /api/show): Ollama's sections (Model, Capabilities, Parameters, System, License), or
// one part raw with --modelfile/--parameters/--template/--system/--license.
import type { ModelDetails, ShowResponse } from "../schemas/index.ts";
import type { Client } from "./client.ts";
import { humanNumber, renderTable } from "./format.ts";

/** A section: "  Header", then rows indented by an empty first column, as cmd.go's tableRender. */
function section(header: string, rows: string[][]): string {
  return `  ${header}\n${renderTable(rows.map((r) => ["", ...r]))}\n`;
}

/** The first `n` non-blank lines, then "..." if there were more (cmd.go showInfo's head). */
function head(text: string, n: number): string[][] {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const rows = lines.slice(0, n).map((l) => [l]);
  if (lines.length > n) rows.push(["..."]);
  return rows;
}

export function showInfo(info: ShowResponse): string {
  const model: string[][] = [];
  const details: Partial<ModelDetails> = info.details ?? {};
  const mi = info.model_info;
  if (mi && typeof mi["general.architecture"] === "string") {
    const arch = mi["general.architecture"];
    model.push(["architecture", arch]);
    const count = mi["general.parameter_count"];
    model.push(["parameters", details.parameter_size || (typeof count === "number" ? humanNumber(count) : "")]);
    const ctx = mi[`${arch}.context_length`];
    if (typeof ctx === "number") model.push(["context length", String(ctx)]);
    const emb = mi[`${arch}.embedding_length`];
    if (typeof emb === "number") model.push(["embedding length", String(emb)]);
  } else {
    model.push(["architecture", details.family ?? ""], ["parameters", details.parameter_size ?? ""]);
  }
  model.push(["quantization", details.quantization_level ?? ""]);
  if (info.requires) model.push(["requires", info.requires]);
  let out = section("Model", model);
  if (info.capabilities?.length) out += section("Capabilities", info.capabilities.map((c) => [c]));
  if (info.parameters) {
    const rows = info.parameters.split("\n").filter(Boolean).map((l) => l.trim().split(/\s+/));
    out += section("Parameters", rows);
  }
  if (info.system) out += section("System", head(info.system, 2));
  if (info.license) out += section("License", head(info.license, 2));
  return out;
}

/**
 * The interactive session's /show license|modelfile|parameters|system|template, with the session's own system
 * message and parameters; undefined for anything else.
 */
export function sessionShowText(what: string, info: ShowResponse, system: string, options: Record<string, unknown>): string | undefined {
  switch (what) {
    case "license":
      return info.license ? `${info.license}\n` : "No license was specified for this model.\n";
    case "modelfile":
      return `${info.modelfile ?? ""}\n`;
    case "parameters": {
      let out = "Model defined parameters:\n";
      if (!info.parameters) out += "  No additional parameters were specified for this model.\n";
      else for (const line of info.parameters.split("\n")) out += `  ${line}\n`;
      out += "\n";
      const user = Object.entries(options);
      if (user.length) {
        out += "User defined parameters:\n";
        for (const [k, v] of user) out += `  ${k.padEnd(30)} ${Array.isArray(v) ? `[${v.join(" ")}]` : String(v)}\n`;
        out += "\n";
      }
      return out;
    }
    case "system": {
      const shown = system || info.system;
      return shown ? `${shown}\n\n` : "No system message was specified for this model.\n";
    }
    case "template":
      return info.template ? `${info.template}\n` : "No prompt template was specified for this model.\n";
  }
  return undefined;
}

const PARTS = ["license", "modelfile", "parameters", "system", "template"] as const;

export async function show(client: Client, [model]: string[], flags: Map<string, string>): Promise<number> {
  const chosen = PARTS.filter((p) => flags.get(p) === "true");
  if (chosen.length > 1) {
    throw new Error("only one of '--license', '--modelfile', '--parameters', '--system', or '--template' can be specified");
  }
  const info = await client.show({ model, ...(flags.get("verbose") === "true" ? { verbose: true } : {}) });
  switch (chosen[0]) {
    case "license":
    case "modelfile":
    case "parameters":
      console.log(info[chosen[0]] ?? "");
      break;
    case "system":
    case "template":
      process.stdout.write(info[chosen[0]] ?? "");
      break;
    default:
      process.stdout.write(showInfo(info));
  }
  return 0;
}
