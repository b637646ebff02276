// Streaming responses: NDJSON for the native API (server/routes.go streamResponse) and SSE for the OpenAI layer
// (middleware/openai.go). An error before the first chunk gets its real status; after it, the status is already
// 200, so the error becomes the last line. A client that goes away stops the source (its iterator's return()).
import { errorResponse, messageFor, openAIErrorBody, openAIErrorResponse, statusFor } from "./errors.ts";

export interface StreamOptions {
  /** The request's signal: when it aborts, the source is stopped. */
  signal?: AbortSignal;
}

interface Framing<T> {
  contentType: string;
  chunk(value: T): string;
  error(error: unknown): string;
  /** What follows the last chunk of a stream that ended normally. */
  end: string;
  errorResponse(error: unknown): Response;
}

const encoder = new TextEncoder();

async function frame<T>(source: AsyncIterable<T>, framing: Framing<T>, options: StreamOptions): Promise<Response> {
  const iterator = source[Symbol.asyncIterator]();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    // Fire and forget: an async generator runs its finally blocks here, which is where generation is cancelled.
    void Promise.resolve()
      .then(() => iterator.return?.())
      .catch(() => {});
  };

  // Pull the first chunk before committing to a 200, so early failures (model not found, busy) keep their status.
  let first: IteratorResult<T>;
  try {
    first = await iterator.next();
  } catch (error) {
    return framing.errorResponse(error);
  }
  if (options.signal?.aborted) {
    stop();
    return new Response(null, { status: 499 });
  }

  let pending: IteratorResult<T> | undefined = first;
  let onAbort: (() => void) | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (!options.signal) return;
      onAbort = () => {
        stop();
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      options.signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      if (stopped) return;
      try {
        const result = pending ?? (await iterator.next());
        pending = undefined;
        if (stopped) return;
        if (result.done) {
          if (framing.end) controller.enqueue(encoder.encode(framing.end));
          finish(controller);
          return;
        }
        controller.enqueue(encoder.encode(framing.chunk(result.value)));
      } catch (error) {
        if (stopped) return;
        controller.enqueue(encoder.encode(framing.error(error)));
        finish(controller);
      }
    },
    cancel() {
      stop();
      if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    },
  });

  function finish(controller: ReadableStreamDefaultController<Uint8Array>) {
    stopped = true; // the iterator is exhausted or has thrown: nothing to return()
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    controller.close();
  }

  return new Response(body, { status: 200, headers: { "content-type": framing.contentType } });
}

/** The native stream: one JSON object and "\n" per chunk; a mid-stream error is a final {"error": "..."} line. */
export function ndjsonResponse<T>(source: AsyncIterable<T>, options: StreamOptions = {}): Promise<Response> {
  return frame(source, {
    contentType: "application/x-ndjson",
    chunk: (value) => JSON.stringify(value) + "\n",
    error: (error) => JSON.stringify({ error: messageFor(error) }) + "\n",
    end: "",
    errorResponse,
  }, options);
}

/** The OpenAI stream: "data: {json}\n\n" per chunk, then "data: [DONE]\n\n"; an error is OpenAI's envelope, no [DONE]. */
export function sseResponse<T>(source: AsyncIterable<T>, options: StreamOptions = {}): Promise<Response> {
  return frame(source, {
    contentType: "text/event-stream",
    chunk: (value) => `data: ${JSON.stringify(value)}\n\n`,
    error: (error) => `data: ${JSON.stringify(openAIErrorBody(error, statusFor(error)))}\n\n`,
    end: "data: [DONE]\n\n",
    errorResponse: openAIErrorResponse,
  }, options);
}

/**
 * SSE with named events, as Anthropic's Messages and OpenAI's Responses streams are framed: "event: <type>\ndata:
 * {json}\n\n" where the event name is the payload's own `type`; no [DONE]. A mid-stream error is the API's own
 * error event, an early one its error Response.
 */
export function typedSseResponse<T extends { type: string }>(
  source: AsyncIterable<T>,
  errors: { event(error: unknown): { type: string }; response(error: unknown): Response },
  options: StreamOptions = {},
): Promise<Response> {
  const named = (value: { type: string }) => `event: ${value.type}\ndata: ${JSON.stringify(value)}\n\n`;
  return frame(source, {
    contentType: "text/event-stream",
    chunk: named,
    error: (error) => named(errors.event(error)),
    end: "",
    errorResponse: errors.response,
  }, options);
}

/**
 * The progress of pull, push and create: NDJSON objects as they come, or with `stream: false` only the last one
 * (Ollama's behaviour); an error thrown before the end is then the response's error.
 */
export async function progressResponse<T extends { status: string }>(
  progress: AsyncIterable<T>,
  stream: boolean | null | undefined,
  signal: AbortSignal,
): Promise<Response> {
  if (stream !== false) return ndjsonResponse(progress, { signal });
  let last: { status: string } = { status: "" };
  for await (const p of progress) last = p;
  return Response.json(last);
}
