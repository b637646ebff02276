// Human-readable sizes, times and tables exactly as Ollama's CLI prints them (format/bytes.go, format/time.go,
// the tablewriter settings of cmd.go).

const KB = 1000;
const MB = KB * 1000;
const GB = MB * 1000;
const TB = GB * 1000;

/** format.HumanBytes: decimal units; "91 MB", "2.6 GB", "1.0 KB" never ("1 KB"), below 1000 "512 B". */
export function humanBytes(bytes: number): string {
  let value: number;
  let unit: string;
  if (bytes >= TB) [value, unit] = [bytes / TB, "TB"];
  else if (bytes >= GB) [value, unit] = [bytes / GB, "GB"];
  else if (bytes >= MB) [value, unit] = [bytes / MB, "MB"];
  else if (bytes >= KB) [value, unit] = [bytes / KB, "KB"];
  else return `${Math.trunc(bytes)} B`;
  if (value >= 10 || value === Math.trunc(value)) return `${Math.trunc(value)} ${unit}`;
  return `${value.toFixed(1)} ${unit}`;
}

/** format.HumanNumber: parameter counts, "8B", "1.5B", "135M". */
export function humanNumber(n: number): string {
  const scaled = (value: number, unit: string) => (value === Math.floor(value) ? `${value}${unit}` : `${value.toFixed(1)}${unit}`);
  if (n >= 1e9) return scaled(n / 1e9, "B");
  if (n >= 1e6) return scaled(n / 1e6, "M");
  if (n >= 1e3) return scaled(n / 1e3, "K");
  return String(n);
}

/** format/time.go humanDuration: "Less than a second", "2 minutes", "About an hour", "3 days". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** format.HumanTime: "2 minutes ago", "4 minutes from now", "Forever" (beyond 20 years ahead), zeroValue if unset. */
export function humanTime(timestamp: string | undefined, zeroValue: string, now = Date.now()): string {
  const at = timestamp ? Date.parse(timestamp) : NaN;
  if (!Number.isFinite(at) || at <= Date.parse("0001-01-01T00:00:00Z") + 1000) return zeroValue;
  const delta = now - at;
  if (Math.trunc(delta / 3_600_000 / 24 / 365) < -20) return "Forever";
  if (delta < 0) return `${humanDuration(-delta)} from now`;
  return `${humanDuration(delta)} ago`;
}

/**
 * tablewriter as cmd.go configures it (no borders, no header line, left-aligned, "    " after every cell): each
 * cell padded to its column's width, so lines keep trailing spaces as Ollama's do.
 */
export function renderTable(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return all.map((row) => row.map((cell, i) => cell + " ".repeat(widths[i]! - [...cell].length) + "    ").join("") + "\n").join("");
}
