// The CLI's only way to the server (ollama-js browser.ts, Ollama's api/client.go): one method per endpoint over
// plain fetch to OLLAMA_HOST, the wire types from src/schemas/ (type-only: nothing of the server is bundled), streamed
// answers as async iterables of NDJSON objects. Errors come back as two types the entry point prints as one line:
// the server is not there, or it said no.
import { hostIsSet, OLLAMA_HOST } from "../config/settings.ts";
import type {
  ChatRequest,
  ChatResponse,
  CopyRequest,
  CreateRequest,
  DeleteRequest,
  EmbedRequest,
  EmbedResponse,
  FinetuneProgress,
  FinetuneRequest,
  GenerateRequest,
  GenerateResponse,
  ListResponse,
  ProcessResponse,
  ProgressResponse,
  PullRequest,
  PushRequest,
  ShowRequest,
  ShowResponse,
  VersionResponse,
} from "../schemas/index.ts";

/** No server answers at OLLAMA_HOST. */
export class ServerUnreachableError extends Error {
  constructor(readonly url: string) {
    super(
      `could not connect to an ollmlx server at ${url} (${hostIsSet() ? "from OLLAMA_HOST" : "the default; OLLAMA_HOST is unset"}), ` +
        "run 'ollmlx serve' to start one",
    );
  }
}

/** The server answered with {"error": ...} (before or inside a stream), or a non-JSON error status. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function serverUrl(env?: Record<string, string | undefined>): string {
  const { scheme, host, port } = OLLAMA_HOST.read(env);
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}

/** The CLI always streams: requests go out without `stream`, which the server reads as true. */
type Streamed<T> = Omit<T, "stream">;

export class Client {
  constructor(readonly base: string = serverUrl()) {}

  /** HEAD / : every command checks the server is there first, as Ollama's CLI does. */
  async heartbeat(): Promise<void> {
    await this.ok(await this.send("HEAD", "/"));
  }

  async version(): Promise<string> {
    return (await this.json<VersionResponse>("GET", "/api/version")).version;
  }

  generate(request: Streamed<GenerateRequest>, signal?: AbortSignal): AsyncIterable<GenerateResponse> {
    return this.stream("/api/generate", request, signal);
  }

  chat(request: Streamed<ChatRequest>, signal?: AbortSignal): AsyncIterable<ChatResponse> {
    return this.stream("/api/chat", request, signal);
  }

  embed(request: EmbedRequest): Promise<EmbedResponse> {
    return this.json("POST", "/api/embed", request);
  }

  show(request: ShowRequest): Promise<ShowResponse> {
    return this.json("POST", "/api/show", request);
  }

  list(): Promise<ListResponse> {
    return this.json("GET", "/api/tags");
  }

  ps(): Promise<ProcessResponse> {
    return this.json("GET", "/api/ps");
  }

  pull(request: Streamed<PullRequest>): AsyncIterable<ProgressResponse> {
    return this.stream("/api/pull", request);
  }

  push(request: Streamed<PushRequest>): AsyncIterable<ProgressResponse> {
    return this.stream("/api/push", request);
  }

  create(request: Streamed<CreateRequest>): AsyncIterable<ProgressResponse> {
    return this.stream("/api/create", request);
  }

  finetune(request: Streamed<FinetuneRequest>): AsyncIterable<FinetuneProgress> {
    return this.stream("/api/finetune", request);
  }

  async copy(request: CopyRequest): Promise<void> {
    await this.json("POST", "/api/copy", request);
  }

  async delete(request: DeleteRequest): Promise<void> {
    await this.json("DELETE", "/api/delete", request);
  }

  /** HEAD /api/blobs/<digest>: whether the server already has the blob. */
  async hasBlob(digest: string): Promise<boolean> {
    return (await this.send("HEAD", `/api/blobs/${digest}`)).status === 200;
  }

  async createBlob(digest: string, body: NonNullable<RequestInit["body"]>): Promise<void> {
    await this.ok(await this.send("POST", `/api/blobs/${digest}`, body));
  }

  private async send(method: string, path: string, body?: RequestInit["body"], signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { "user-agent": "ollmlx-cli" };
    if (typeof body === "string") headers["content-type"] = "application/json";
    try {
      return await fetch(this.base + path, { method, body, headers, signal });
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new ServerUnreachableError(this.base);
    }
  }

  private async ok(response: Response): Promise<Response> {
    if (response.ok) return response;
    const text = await response.text();
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === "string" && parsed.error) throw new ApiError(parsed.error, response.status);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      // not JSON: Ollama's client shows the status line and the body
    }
    const status = `${response.status} ${response.statusText}`.trim();
    throw new ApiError(text.trim() ? `${status}: ${text.trim()}` : status, response.status);
  }

  /** A request answered with one JSON object (or an empty body, as copy and delete answer). */
  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.ok(await this.send(method, path, body === undefined ? undefined : JSON.stringify(body)));
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * POSTs and yields each NDJSON object as it arrives. An {"error"} line ends it with ApiError. Aborting `signal`
   * rejects with an AbortError; leaving the loop early, or aborting, closes the connection and the server cancels.
   */
  private async *stream<T>(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<T> {
    const response = await this.ok(await this.send("POST", path, JSON.stringify(body), signal));
    if (!response.body) return;
    const decoder = new TextDecoder();
    let pending = "";
    const parse = (line: string): T => {
      const parsed = JSON.parse(line) as T & { error?: unknown };
      if (typeof parsed.error === "string") throw new ApiError(parsed.error, response.status);
      return parsed;
    };
    for await (const bytes of response.body) {
      pending += decoder.decode(bytes, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim()) yield parse(line);
      }
    }
    pending += decoder.decode();
    if (pending.trim()) yield parse(pending);
  }
}

/** Reads a stream to its end, for requests whose progress nobody shows (stop, /save). */
export async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream);
}
