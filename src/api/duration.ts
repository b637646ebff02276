// keep_alive exactly as Ollama reads it: api.Duration.UnmarshalJSON (api/types.go) over Go's time.ParseDuration
// (OLLAMA_KEEP_ALIVE itself is read in src/config/settings.ts). Durations here are ms; Infinity means "forever".
import { InvalidRequestError } from "./errors.ts";

export const DEFAULT_KEEP_ALIVE_MS = 5 * 60 * 1000;

const NS_PER: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // micro sign
  "\u03bcs": 1_000n, // Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_INT64 = (1n << 63n) - 1n;

/** Go's time.quote: the text in double quotes (errors quote the original input). */
function quote(text: string): string {
  return JSON.stringify(text);
}

/**
 * Go's time.ParseDuration: "300ms", "-1.5h", "2h45m", "0"; returns nanoseconds as a bigint.
 * Throws with Go's messages (`time: invalid duration "x"`, `time: missing unit in duration "1"`, ...).
 */
export function parseGoDuration(input: string): bigint {
  const invalid = () => new Error(`time: invalid duration ${quote(input)}`);
  let s = input;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let total = 0n;
  while (s !== "") {
    const number = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, intPart = "", fracPart] = number;
    if (intPart === "" && (fracPart === undefined || fracPart === "")) throw invalid();
    s = s.slice(whole.length);
    const unitMatch = /^[^\d.]*/.exec(s)!;
    const unit = unitMatch[0];
    if (unit === "") throw new Error(`time: missing unit in duration ${quote(input)}`);
    const scale = NS_PER[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${quote(unit)} in duration ${quote(input)}`);
    s = s.slice(unit.length);
    let value = BigInt(intPart || "0") * scale;
    if (fracPart) {
      // Go keeps the fraction's precision as far as nanoseconds reach, truncating the rest.
      value += (BigInt(fracPart) * scale) / 10n ** BigInt(fracPart.length);
    }
    total += value;
    if (total > MAX_INT64) throw invalid();
  }
  return negative ? -total : total;
}

/** Go's time.Duration.String: "5m0s", "1h30m0s", "1.5s", "300ms", "0s"; how keep_alive marshals back. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const sign = ns < 0n ? "-" : "";
  let u = ns < 0n ? -ns : ns;
  if (u < 1_000_000_000n) {
    const [unit, scale] = u < 1_000n ? ["ns", 1n] : u < 1_000_000n ? ["\u00b5s", 1_000n] : ["ms", 1_000_000n];
    return sign + decimal(u, scale) + unit;
  }
  const h = u / 3_600_000_000_000n;
  u -= h * 3_600_000_000_000n;
  const m = u / 60_000_000_000n;
  u -= m * 60_000_000_000n;
  let out = sign;
  if (h > 0n) out += `${h}h`;
  if (h > 0n || m > 0n) out += `${m}m`;
  return out + decimal(u, 1_000_000_000n) + "s";
}

function decimal(value: bigint, scale: bigint): string {
  const whole = value / scale;
  const frac = value % scale;
  if (frac === 0n) return whole.toString();
  const digits = frac.toString().padStart(scale.toString().length - 1, "0").replace(/0+$/, "");
  return `${whole}.${digits}`;
}

/** Go nanoseconds to ms; negative is forever (Infinity). */
export function nsToMs(ns: bigint): number {
  return ns < 0n ? Infinity : Number(ns) / 1e6;
}

/**
 * A request's keep_alive, as api.Duration.UnmarshalJSON reads it: a number is seconds, a string a Go duration;
 * negative means forever (Infinity), 0 means unload as soon as the request ends. null/undefined: unset.
 * Invalid values throw InvalidRequestError with Go's message (Ollama answers 400 while decoding the body).
 */
export function parseKeepAlive(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") {
    // Beyond int64 nanoseconds (~292 years), Go's float-to-int conversion gives MinInt64 on amd64: negative, so
    // forever. Without this, expires_at would fall outside what a Date holds and /api/ps would fail.
    if (value < 0 || value * 1e9 >= Number(MAX_INT64)) return Infinity;
    // time.Duration(t * float64(time.Second)): truncated to whole nanoseconds
    return Math.trunc(value * 1e9) / 1e6;
  }
  if (typeof value === "string") {
    try {
      return nsToMs(parseGoDuration(value));
    } catch (error) {
      throw new InvalidRequestError((error as Error).message);
    }
  }
  const goType = typeof value === "boolean" ? "bool" : Array.isArray(value) ? "[]interface {}" : "map[string]interface {}";
  throw new InvalidRequestError(`Unsupported type: '${goType}'`);
}

/** The keep_alive a request leaves on a model: its own if set, else the model's current one, else the default. */
export function resolveKeepAlive(requested: unknown, current: number | undefined, defaultMs: number): number {
  return parseKeepAlive(requested) ?? current ?? defaultMs;
}

/** How keep_alive marshals back (api.Duration.MarshalJSON): "5m0s", or -1 for forever. */
export function keepAliveToJSON(ms: number): string | number {
  if (ms === Infinity) return -1;
  return formatGoDuration(BigInt(Math.round(ms * 1e6)));
}
