// Settings users can change, with Ollama's names where Ollama has one. Documented in the README's table.

export interface HostAddress {
  scheme: "http" | "https";
  host: string;
  port: number;
}

/** Parses OLLAMA_HOST the way Ollama does: [scheme://]host[:port], default 127.0.0.1:11434. */
export function parseHost(raw: string | undefined): HostAddress {
  let value = (raw ?? "").trim().replace(/^["']|["']$/g, "");
  if (!value) return { scheme: "http", host: "127.0.0.1", port: 11434 };
  let scheme: "http" | "https" = "http";
  let defaultPort = 11434;
  const m = /^(https?):\/\//.exec(value);
  if (m) {
    scheme = m[1] as "http" | "https";
    defaultPort = scheme === "https" ? 443 : 80;
    value = value.slice(m[0].length);
  }
  value = value.replace(/\/.*$/, "");
  let host = value;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else {
    const idx = value.lastIndexOf(":");
    if (idx >= 0 && value.indexOf(":") === idx) {
      host = value.slice(0, idx);
      port = Number(value.slice(idx + 1));
    }
  }
  if (!host) host = "127.0.0.1";
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`OLLAMA_HOST has an invalid port: ${raw}`);
  return { scheme, host, port };
}
