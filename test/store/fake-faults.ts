// How the fake servers misbehave for one file: the Fault, and serveBytes, which answers a GET (with an optional
// `Range: bytes=N-`) applying it. Kept apart from the servers so each stays small.

/** How a file server misbehaves for one file (keyed by the sha256 hex it is served under). */
export interface Fault {
  /** end the body cleanly after this many bytes; streamed, so without Content-Length */
  dropAfter?: number;
  /** how many responses misbehave before the file is served right (default: always; once for dropAfter) */
  times?: number;
  /** serve these bytes instead of the real ones */
  corrupt?: Uint8Array;
  /** stream in chunks of this many bytes, one per delay */
  slow?: { chunk: number; delayMs: number };
  /** answer this status instead of the file, `times` times (default always), with Retry-After when given */
  status?: { code: number; retryAfter?: string; times?: number };
  /** send this many bytes, then break the connection (a server that fails mid-stream) */
  resetAfter?: number;
  /** send this many bytes, then nothing more while keeping the connection open (headers always go out) */
  stallAfter?: number;
  /** serve the file cut to, or padded (with 0xee) to, this many bytes, Content-Length saying so */
  length?: number;
  /** send no Content-Length (chunked), so only the bytes themselves can tell a wrong length */
  chunked?: boolean;
}

/** The answer a status fault gives, once per remaining `times`; null when the file should be served. */
export function statusFault(fault: Fault | undefined): Response | null {
  const s = fault?.status;
  if (!s || (s.times ?? Infinity) <= 0) return null;
  if (s.times !== undefined) s.times--;
  const headers: Record<string, string> = s.retryAfter === undefined ? {} : { "retry-after": s.retryAfter };
  return new Response(`fake failure ${s.code}`, { status: s.code, headers });
}

/** The fault if this response is one that misbehaves (counting down `times`), else undefined. */
function takeTurn(fault: Fault | undefined): Fault | undefined {
  if (!fault) return undefined;
  const left = fault.times ?? (fault.dropAfter !== undefined ? 1 : Infinity);
  if (left <= 0) return undefined;
  if (Number.isFinite(left)) fault.times = left - 1;
  return fault;
}

function resize(bytes: Uint8Array, length: number | undefined): Uint8Array {
  if (length === undefined || length === bytes.length) return bytes;
  if (length < bytes.length) return bytes.subarray(0, length);
  const out = new Uint8Array(length).fill(0xee);
  out.set(bytes);
  return out;
}

/** The body for a GET with optional `Range: bytes=N-`, applying a fault. */
export function serveBytes(req: Request, bytes: Uint8Array, given: Fault | undefined, onCancel: () => void): Response {
  const refused = statusFault(given);
  if (refused) return refused;
  const fault = takeTurn(given);
  const data = resize(fault?.corrupt ?? bytes, fault?.length);
  const range = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
  const start = range ? Number(range[1]) : 0;
  const body = data.subarray(start);
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  if (!fault?.chunked) headers["content-length"] = String(body.length);
  if (range) headers["content-range"] = `bytes ${start}-${data.length - 1}/${data.length}`;
  const status = range ? 206 : 200;
  let limit = body.length;
  const drop = fault?.dropAfter !== undefined;
  if (drop) limit = Math.min(limit, fault.dropAfter!);
  // Bun sends a streamed body chunked, without Content-Length: a body that should carry one goes whole.
  const streamed = fault?.slow || drop || fault?.resetAfter !== undefined || fault?.stallAfter !== undefined || fault?.chunked;
  if (!streamed) return new Response(body.slice(), { status, headers });
  const chunk = fault?.slow?.chunk ?? 16384;
  let pos = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (fault?.slow) await Bun.sleep(fault.slow.delayMs);
      if (fault?.resetAfter !== undefined && pos >= fault.resetAfter) {
        // erroring the stream makes Bun reset the connection (with no Error, Bun logs no stack trace)
        controller.error(undefined);
        return;
      }
      if (fault?.stallAfter !== undefined && pos >= fault.stallAfter) {
        // headers and the first bytes are out; the connection stays open and silent until the client leaves
        for (let waited = 0; !cancelled && waited < 30_000; waited += 20) await Bun.sleep(20);
        if (!cancelled) controller.close();
        return;
      }
      if (pos >= limit) {
        // A dropped connection: the body ends short of its Content-Length (erroring the stream instead makes Bun
        // reset the socket before the bytes already queued are sent).
        if (drop) await Bun.sleep(20);
        controller.close();
        return;
      }
      let end = Math.min(limit, pos + chunk);
      for (const stop of [fault?.resetAfter, fault?.stallAfter]) if (stop !== undefined && stop > pos) end = Math.min(end, stop);
      controller.enqueue(body.slice(pos, end));
      pos = end;
    },
    cancel: () => {
      cancelled = true;
      onCancel();
    },
  });
  return new Response(stream, { status, headers });
}
