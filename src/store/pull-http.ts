// HTTP as pulls use it, made to survive the network:
// - redirects are followed by hand so that credentials never leave the origin they were meant for (a signed CDN URL
//   carries its own), as Ollama (server/download.go) and huggingface_hub do;
// - "come back later" (429, 502, 503, 504) is retried a few times, after Retry-After when the server says one
//   (Ollama retries a failed part too, with exponential backoff);
// - a connection that stops sending is given up after OLLMLX_PULL_STALL_TIMEOUT (Ollama: a part with no progress for
//   a while is "stalled"), for the headers and for every read of the body, so a pull never hangs forever.
// A broken or stalled connection is a TransientPullError: pull-blob.ts resumes the download (OLLMLX_PULL_RETRIES).
import { OLLMLX_PULL_RETRIES, OLLMLX_PULL_STALL_TIMEOUT } from "../config/settings.ts";
import { VERSION } from "../version.ts";
import { PullError, TransientPullError } from "./pull-errors.ts";

export const USER_AGENT = `ollmlx/${VERSION} (${process.arch} ${process.platform}) Bun/${Bun.version}`;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRY_LATER = new Set([429, 502, 503, 504]);
/** retries of a "come back later" answer before it is the pull's error */
export const MAX_RETRIES = 3;
/** the longest Retry-After honoured; a server asking for more fails the pull now */
const MAX_RETRY_AFTER_MS = 60_000;

/** OLLMLX_PULL_STALL_TIMEOUT unset */
export const DEFAULT_STALL_MS = OLLMLX_PULL_STALL_TIMEOUT.read({});

function stalled(url: string | URL, ms: number, what: string): PullError {
  return new TransientPullError(`Get "${url}": ${what} stalled: nothing received for ${ms / 1000}s (OLLMLX_PULL_STALL_TIMEOUT)`);
}

/** OLLMLX_PULL_RETRIES unset */
export const DEFAULT_PULL_RETRIES = OLLMLX_PULL_RETRIES.read({});

/** The wait before the first retry of a broken transfer; it doubles for each one after (Ollama backs off too). */
export const RETRY_BASE_MS = 500;

/**
 * Runs `work`, running it again after a TransientPullError (a break in the network) up to `retries` times with a
 * growing wait; any other failure, or an abort, ends it at once. Work that resumes makes each try cheaper.
 */
export async function retryTransient<T>(work: () => Promise<T>, retries: number, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (signal?.aborted || !(error instanceof TransientPullError) || attempt >= retries) throw error;
      await sleep(RETRY_BASE_MS * 2 ** attempt, signal);
    }
  }
}

/** Sleeps, waking early (with the abort reason) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** How long to wait before asking again: Retry-After (seconds or an HTTP date), else 1 s, 2 s, 4 s. */
function retryDelayMs(res: Response, attempt: number): number {
  const header = res.headers.get("retry-after")?.trim();
  if (header) {
    const seconds = /^\d+$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now();
    if (Number.isFinite(seconds)) return Math.max(0, seconds);
  }
  return 1000 * 2 ** attempt;
}

/** One request, given up when no headers come within `stallMs`. */
async function fetchOnce(url: URL, headers: Record<string, string>, signal: AbortSignal | undefined, stallMs: number): Promise<Response> {
  const watchdog = new AbortController();
  const timer = setTimeout(() => watchdog.abort(stalled(url, stallMs, "the response")), stallMs);
  const combined = signal ? AbortSignal.any([signal, watchdog.signal]) : watchdog.signal;
  try {
    return await fetch(url, { headers, redirect: "manual", signal: combined });
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    if (watchdog.signal.aborted) throw watchdog.signal.reason;
    throw new TransientPullError(`Get "${url}": ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET with redirects followed by hand (Authorization is dropped when a redirect leaves the origin) and "come back
 * later" answers retried. The body is the caller's to read, with readBody so that a stall is noticed.
 */
export async function httpGet(url: string, headers: Record<string, string>, signal?: AbortSignal, stallMs = DEFAULT_STALL_MS): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await followRedirects(url, headers, signal, stallMs);
    if (!RETRY_LATER.has(res.status) || attempt >= MAX_RETRIES) return res;
    const delay = retryDelayMs(res, attempt);
    if (delay > MAX_RETRY_AFTER_MS) return res;
    await res.body?.cancel();
    await sleep(delay, signal);
  }
}

async function followRedirects(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, stallMs: number): Promise<Response> {
  let current = new URL(url);
  let sent: Record<string, string> = { "User-Agent": USER_AGENT, ...headers };
  for (let hop = 0; hop <= 10; hop++) {
    const res = await fetchOnce(current, sent, signal, stallMs);
    const location = res.headers.get("location");
    if (!REDIRECTS.has(res.status) || !location) return res;
    await res.body?.cancel();
    const next = new URL(location, current);
    if (next.origin !== current.origin) {
      const { Authorization: _dropped, authorization: _dropped2, ...rest } = sent;
      sent = rest;
    }
    current = next;
  }
  throw new PullError(`Get "${url}": stopped after 10 redirects`);
}

/** An HTTP status as Ollama words an unexpected one. */
export async function httpError(url: string, res: Response): Promise<PullError> {
  const text = (await res.text().catch(() => "")).trim().slice(0, 300);
  return new PullError(`Get "${url}": ${res.status} ${res.statusText}${text ? `: ${text}` : ""}`);
}

/**
 * Reads a body chunk by chunk; a read that waits longer than `stallMs` ends it with a stall error, a broken
 * connection with a PullError naming the URL; an abort of `signal` rethrows its reason.
 */
export async function readBody(res: Response, url: string, stallMs: number, signal: AbortSignal | undefined, onChunk: (chunk: Uint8Array) => Promise<void> | void): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(stalled(url, stallMs, "the download")), stallMs);
      });
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await Promise.race([reader.read(), timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (step.done) return;
      await onChunk(step.value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    if (signal?.aborted) throw signal.reason ?? error;
    if (error instanceof PullError) throw error;
    throw new TransientPullError(`Get "${url}": ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A whole (small) body, read with the stall watchdog. */
export async function readAll(res: Response, url: string, stallMs: number, signal?: AbortSignal): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await readBody(res, url, stallMs, signal, (chunk) => void chunks.push(chunk));
  return Buffer.concat(chunks);
}
