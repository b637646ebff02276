// Time on the wire as Go writes it: created_at is time.Now().UTC() marshalled as RFC3339Nano (fraction with
// trailing zeros trimmed, no dot when whole), and every duration is an integer of nanoseconds.

/** Wall-clock now in nanoseconds since the epoch (sub-millisecond digits from the high-resolution clock). */
export function nowEpochNs(): bigint {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

/** Go's RFC3339Nano in UTC: "2023-08-04T19:22:45.499127Z", "2024-01-01T00:00:00Z". */
export function rfc3339Nano(epochNs: bigint | Date): string {
  const ns = epochNs instanceof Date ? BigInt(epochNs.getTime()) * 1_000_000n : epochNs;
  let seconds = ns / 1_000_000_000n;
  let fraction = ns % 1_000_000_000n;
  if (fraction < 0n) {
    fraction += 1_000_000_000n;
    seconds -= 1n;
  }
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  const digits = fraction === 0n ? "" : "." + fraction.toString().padStart(9, "0").replace(/0+$/, "");
  return `${base}${digits}Z`;
}

// createdAt's "YYYY-MM-DDTHH:MM:SS" for the current second: a stream formats it once a second, not once a token.
let baseSecond = Number.NaN;
let base = "";

/**
 * created_at for a chunk being sent now: rfc3339Nano(nowEpochNs()) without BigInt arithmetic, which was a tenth of
 * the server's time per streamed token. The sub-millisecond digits come from the same double-precision clock.
 */
export function createdAt(): string {
  const ms = performance.timeOrigin + performance.now();
  const second = Math.floor(ms / 1000);
  if (second !== baseSecond) {
    baseSecond = second;
    base = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const ns = Math.min(999_999_999, Math.round((ms - second * 1000) * 1e6));
  return ns === 0 ? `${base}Z` : `${base}.${String(ns).padStart(9, "0").replace(/0+$/, "")}Z`;
}

/** A monotonic clock reading in nanoseconds, for measuring durations. */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/** Nanoseconds since a monotonicNs() reading, as the integer Go's time.Duration marshals to. */
export function elapsedNs(start: bigint, end: bigint = monotonicNs()): number {
  return Number(end - start);
}

/** Unix seconds of an RFC3339 timestamp (OpenAI's `created`); digits past milliseconds are dropped first. */
export function unixSeconds(timestamp: string): number {
  const trimmed = timestamp.replace(/(\.\d{3})\d+/, "$1");
  return Math.floor(Date.parse(trimmed) / 1000);
}
