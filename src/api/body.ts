// Request bodies of the JSON routes, read with a size limit. Ollama sets none (Go reads until EOF); Bun's own limit
// (maxRequestBodySize, 128 MiB by default) would also cut blob uploads, which are whole model files, and answers
// with an empty 413. So the server lifts Bun's limit, blobs stream to disk unbounded, and JSON bodies stop here with
// a clean 413 {"error": "http: request body too large"} (Go's http.MaxBytesReader text).
import { PayloadTooLargeError } from "./errors.ts";

/** 128 MiB: Bun's default, far above any prompt (a 128k-token context is ~0.5 MiB of text; images ride as base64). */
export const JSON_BODY_LIMIT = 128 * 1024 * 1024;

/** The body as text, or PayloadTooLargeError as soon as it passes `limit` bytes (declared or streamed). */
export async function readBodyText(request: Request, limit = JSON_BODY_LIMIT): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) throw new PayloadTooLargeError();
  if (!request.body) return "";
  // A declared length within the limit: Bun reads exactly that many bytes natively (the hot path of every request).
  if (Number.isFinite(declared)) return await request.text();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > limit) throw new PayloadTooLargeError();
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
