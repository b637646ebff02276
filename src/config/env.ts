// How one environment variable is read (Ollama's envconfig.Var, Bool, Uint): the raw text normalised once, then
// parsed by a small typed parser. Which variables exist, their defaults and docs: settings.ts.
import { DEFAULT_KEEP_ALIVE_MS, nsToMs, parseGoDuration } from "../api/duration.ts";

export type Env = Readonly<Record<string, string | undefined>>;

/** envconfig.Var: surrounding whitespace, then every surrounding quote, trimmed (Go's strings.Trim(…, "\"'")). */
export function envVar(env: Env, name: string): string {
  return (env[name] ?? "").trim().replace(/^["']+|["']+$/g, "");
}

/** envconfig.Bool: unset is false; set, anything strconv.ParseBool does not call false is true. */
export function goBool(raw: string): boolean {
  return raw !== "" && !/^(0|f|F|FALSE|false|False)$/.test(raw);
}

/** A positive integer, else `fallback` (unset, 0, negative and garbage alike). */
export function positiveInt(fallback: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    return raw !== "" && Number.isInteger(n) && n > 0 ? n : fallback;
  };
}

/** A Go duration ("5m", "1h30m") or integer seconds, in ms; negative is forever (Infinity); garbage is 5m. */
export function keepAliveMs(raw: string): number {
  if (raw === "") return DEFAULT_KEEP_ALIVE_MS;
  try {
    return nsToMs(parseGoDuration(raw));
  } catch {
    if (/^[+-]?\d+$/.test(raw)) {
      const seconds = Number(raw);
      return seconds < 0 ? Infinity : seconds * 1000;
    }
    return DEFAULT_KEEP_ALIVE_MS;
  }
}

/** Seconds ("30", "0.5") or a Go duration ("30s", "500ms"), in ms; unset, zero, negative or garbage is `fallback`. */
export function timeoutMs(fallback: number): (raw: string) => number {
  return (raw) => {
    if (!raw) return fallback;
    let ms = Number(raw) * 1000;
    if (!Number.isFinite(ms)) {
      try {
        ms = Number(parseGoDuration(raw) / 1_000_000n);
      } catch {
        return fallback;
      }
    }
    return ms > 0 ? ms : fallback;
  };
}

const BYTE_UNITS: Record<string, number> = { "": 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Bytes, or with a unit (512MiB, 2GB); `name` is for the error a value that is neither gets. */
export function byteCount(name: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw);
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`${name}=${raw}: expected bytes, e.g. 2GiB, 512MB or 0`);
  return Math.floor(Number(m[1]) * unit);
}

export interface HostAddress {
  scheme: "http" | "https";
  host: string;
  port: number;
}

/** OLLAMA_HOST the way Ollama's envconfig.Host parses it: [scheme://]host[:port], default 127.0.0.1:11434. */
export function parseHost(raw: string): HostAddress {
  let value = raw;
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
