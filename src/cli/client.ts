// The CLI's only way to the server: plain fetch over Ollama's HTTP API (OLLAMA_HOST), NDJSON streams read line by
// line. Errors come back as two types the entry point prints as one line: the server is not there, or it said no.
import { parseHost } from "../config/env.ts";

/** No server answers at OLLAMA_HOST. */
export class ServerUnreachableError extends Error {
  constructor(readonly url: string) {
    const set = (process.env.OLLAMA_HOST ?? "").trim() !== "";
    super(
      `could not connect to an ollmlx server at ${url} (${set ? "from OLLAMA_HOST" : "the default; OLLAMA_HOST is unset"}), ` +
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

export function serverUrl(env: Record<string, string | undefined> = process.env): string {
  const { scheme, host, port } = parseHost(env.OLLAMA_HOST);
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}

export class Client {
  constructor(readonly base: string = serverUrl()) {}

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

  private static async failure(response: Response): Promise<ApiError> {
    const text = await response.text();
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === "string" && parsed.error) return new ApiError(parsed.error, response.status);
    } catch {
      // not JSON: Ollama's client shows the status line and the body
    }
    const status = `${response.status} ${response.statusText}`.trim();
    return new ApiError(text.trim() ? `${status}: ${text.trim()}` : status, response.status);
  }

  /** HEAD / : every command checks the server is there first, as Ollama's CLI does. */
  async heartbeat(): Promise<void> {
    const response = await this.send("HEAD", "/");
    if (!response.ok) throw await Client.failure(response);
  }

  async version(): Promise<string> {
    return (await this.json<{ version: string }>("GET", "/api/version")).version;
  }

  /** A request answered with one JSON object (or an empty body, as copy and delete answer). */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (!response.ok) throw await Client.failure(response);
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** The status of a HEAD request (blobs: 200 there, 404 not). */
  async head(path: string): Promise<number> {
    return (await this.send("HEAD", path)).status;
  }

  async upload(path: string, body: NonNullable<RequestInit["body"]>): Promise<void> {
    const response = await this.send("POST", path, body);
    if (!response.ok) throw await Client.failure(response);
  }

  /**
   * POSTs and hands each NDJSON object to `onChunk` as it arrives. An {"error"} line ends it with ApiError.
   * Aborting `signal` rejects with an AbortError; the server sees the connection close and cancels.
   */
  async stream<T>(path: string, body: unknown, onChunk: (chunk: T) => void | Promise<void>, signal?: AbortSignal): Promise<void> {
    const response = await this.send("POST", path, JSON.stringify(body), signal);
    if (!response.ok) throw await Client.failure(response);
    if (!response.body) return;
    const decoder = new TextDecoder();
    let pending = "";
    const handle = async (line: string) => {
      if (!line.trim()) return;
      const parsed = JSON.parse(line) as T & { error?: unknown };
      if (typeof parsed.error === "string") throw new ApiError(parsed.error, response.status);
      await onChunk(parsed);
    };
    for await (const bytes of response.body) {
      pending += decoder.decode(bytes, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        await handle(line);
      }
    }
    await handle(pending + decoder.decode());
  }
}

export { isAbort };
