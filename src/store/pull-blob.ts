// Downloading one blob into the store, resumably and verified:
//   bytes go to blobs/sha256-<hex>-partial (Ollama's name), appended as they arrive and hashed on the way;
//   a later pull finds the partial file, hashes what is there and asks for the rest with `Range: bytes=N-`;
//   only bytes that hash to the digest are renamed to blobs/sha256-<hex>; a mismatch deletes the partial file.
// A transfer the network breaks (reset, stall, cut short) is resumed the same way within the pull, a few times.
// HTTP (redirects, retries, the stall watchdog) is pull-http.ts.
import { createHash, type Hash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync, truncateSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { DigestMismatchError, PullError, TransientPullError } from "./pull-errors.ts";
import { DEFAULT_PULL_RETRIES, DEFAULT_STALL_MS, httpError, httpGet, readBody, retryTransient } from "./pull-http.ts";
import type { OnBytes } from "./progress.ts";
import type { Store } from "./store.ts";

export { USER_AGENT, httpError, httpGet } from "./pull-http.ts";

export interface BlobSource {
  url: string;
  headers?: Record<string, string>;
  /** sha256:<hex>: the name of the blob and what its bytes must hash to */
  digest: string;
  /** the expected size, when the index says it (a longer body is refused) */
  size?: number;
}

export interface TransferOptions {
  signal?: AbortSignal;
  onBytes?: OnBytes;
  /** give up a connection that sends nothing for this long (OLLMLX_PULL_STALL_TIMEOUT) */
  stallMs?: number;
  /** resume a transfer the network broke this many times before failing (OLLMLX_PULL_RETRIES) */
  retries?: number;
}

export function partialPath(store: Store, digest: string): string {
  return `${store.blobPath(digest)}-partial`;
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** One attempt: resume the partial file, stream the rest into it, verify, rename. Returns the blob's size. */
async function transfer(store: Store, src: BlobSource, signal: AbortSignal, onBytes: OnBytes, stallMs: number): Promise<number> {
  const blob = store.blobPath(src.digest);
  const partial = partialPath(store, src.digest);
  mkdirSync(dirname(blob), { recursive: true });
  let offset = existsSync(partial) ? statSync(partial).size : 0;
  if (src.size !== undefined && offset > src.size) {
    truncateSync(partial, 0);
    offset = 0;
  }
  let hash = createHash("sha256");
  if (offset > 0) await hashFile(partial, hash);
  let total = src.size ?? offset;
  if (src.size !== undefined) onBytes(offset, total);

  if (src.size === undefined || offset < src.size) {
    // Byte ranges and lengths must count the blob's own bytes, not a compressed form of them (Go's client, and so
    // Ollama, never asks for gzip on a Range request either).
    const headers: Record<string, string> = { ...src.headers, "Accept-Encoding": "identity" };
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    const res = await httpGet(src.url, headers, signal, stallMs);
    const range = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
    if (res.status === 206 && range && Number(range[1]) === offset) {
      // resumed: append to what is there
    } else if (res.status === 200) {
      // the server ignored the Range header: start over
      offset = 0;
      hash = createHash("sha256");
    } else {
      throw res.status === 206 ? new PullError(`Get "${src.url}": unexpected Content-Range ${res.headers.get("content-range")}`) : await httpError(src.url, res);
    }
    const encoded = !/^(identity)?$/i.test(res.headers.get("content-encoding")?.trim() ?? "");
    const length = encoded ? NaN : Number(res.headers.get("content-length") ?? NaN);
    // A body announced longer or shorter than the index lists is refused before a byte of it is written.
    if (src.size !== undefined && Number.isFinite(length) && offset + length !== src.size) {
      await res.body?.cancel();
      throw new PullError(`Get "${src.url}": the server sends ${offset + length} bytes, ${src.digest} has ${src.size}`);
    }
    total = src.size ?? (Number.isFinite(length) ? offset + length : 0);
    onBytes(offset, total);
    const file = await open(partial, offset > 0 ? "a" : "w");
    try {
      await readBody(res, src.url, stallMs, signal, async (chunk) => {
        if (src.size !== undefined && offset + chunk.length > src.size) {
          throw new PullError(`Get "${src.url}": more than the ${src.size} bytes expected`);
        }
        for (let written = 0; written < chunk.length; ) {
          written += (await file.write(chunk, written, chunk.length - written)).bytesWritten;
        }
        hash.update(chunk);
        offset += chunk.length;
        onBytes(offset, Math.max(total, offset));
      });
    } finally {
      await file.close();
    }
    if (src.size === undefined) total = offset;
  }
  // A short body leaves the partial file for the next pull to resume.
  if (offset !== total) throw new TransientPullError(`Get "${src.url}": unexpected EOF after ${offset} of ${total} bytes`);
  const got = `sha256:${hash.digest("hex")}`;
  if (got !== src.digest) {
    rmSync(partial, { force: true });
    throw new DigestMismatchError(src.digest, got);
  }
  renameSync(partial, blob);
  onBytes(total, total);
  return total;
}

/** A download that concurrent pulls of the same blob share (Ollama's blobDownloadManager): it stops when all leave. */
interface SharedDownload {
  result: Promise<number>;
  controller: AbortController;
  listeners: Set<OnBytes>;
  last: [number, number] | null;
}

const inflight = new Map<string, SharedDownload>();

/**
 * Makes the blob present in the store. A blob already there is reported once as complete and not fetched. Aborting
 * `signal` stops this caller's wait (and the transfer when no other pull shares it); the partial file stays.
 */
export async function downloadBlob(store: Store, src: BlobSource, options: TransferOptions = {}): Promise<number> {
  const onBytes = options.onBytes ?? (() => {});
  const blob = store.blobPath(src.digest);
  if (existsSync(blob)) {
    const size = statSync(blob).size;
    onBytes(size, size);
    return size;
  }
  let shared = inflight.get(blob);
  if (!shared) {
    const controller = new AbortController();
    const listeners = new Set<OnBytes>();
    const s: SharedDownload = { controller, listeners, last: null, result: Promise.resolve(0) };
    const report: OnBytes = (done, total) => {
      s.last = [done, total];
      for (const l of listeners) l(done, total);
    };
    // a break in the network is resumed from the partial file, a few times, within this pull
    const attempt = () => transfer(store, src, controller.signal, report, options.stallMs ?? DEFAULT_STALL_MS);
    s.result = retryTransient(attempt, options.retries ?? DEFAULT_PULL_RETRIES, controller.signal).finally(() => inflight.delete(blob));
    inflight.set(blob, s);
    shared = s;
  }
  const s = shared;
  s.listeners.add(onBytes);
  if (s.last) onBytes(...s.last);
  const signal = options.signal;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      s.listeners.delete(onBytes);
      if (s.listeners.size === 0) s.controller.abort(signal?.reason);
      reject(signal?.reason ?? new DOMException("The operation was aborted.", "AbortError"));
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    return await Promise.race([s.result, aborted]);
  } finally {
    s.listeners.delete(onBytes);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/** Runs `work` over the items, at most `limit` at a time; the first failure aborts the rest and is rethrown. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  work: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort, { once: true });
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item, controller.signal);
      } catch (error) {
        if (!failure) failure = { error };
        controller.abort(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (failure) throw (failure as { error: unknown }).error;
}
