// A recording pass-through in front of the real server: the CLI talks to it, it forwards every request unchanged
// to the server and the server's answer unchanged back, noting what the CLI sent and whether the CLI hung up before
// an answer ended. It answers nothing itself: everything the CLI sees came from the real server.

export interface Tapped {
  method: string;
  path: string;
  /** the JSON body the CLI sent (parsed), or the byte count of a blob upload */
  body: unknown;
}

export interface Wiretap {
  url: string;
  requests: Tapped[];
  /** paths of requests whose answer the CLI stopped reading (connection closed mid-stream) */
  hangups: string[];
  /** the last JSON body sent to `path` */
  last(path: string): Record<string, unknown>;
  close(): void;
}

export function wiretap(target: string): Wiretap {
  const requests: Tapped[] = [];
  const hangups: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0, // a long answer may be silent for a while (model load)
    async fetch(request) {
      const url = new URL(request.url);
      const bytes = request.method === "GET" || request.method === "HEAD" ? undefined : new Uint8Array(await request.arrayBuffer());
      let body: unknown = bytes?.byteLength;
      if (bytes && !url.pathname.startsWith("/api/blobs/")) {
        const text = new TextDecoder().decode(bytes);
        body = text ? (JSON.parse(text) as unknown) : undefined;
      }
      requests.push({ method: request.method, path: url.pathname, body });
      const headers = new Headers(request.headers);
      headers.delete("host");
      headers.delete("content-length");
      const upstream = new AbortController();
      let finished = false;
      const hangUp = () => {
        if (!finished) hangups.push(url.pathname);
        finished = true;
        upstream.abort(); // the server sees the connection close, as it would with the CLI itself
      };
      request.signal.addEventListener("abort", hangUp);
      const answer = await fetch(target + url.pathname + url.search, { method: request.method, headers, body: bytes, signal: upstream.signal, redirect: "manual" });
      if (!answer.body) {
        finished = true;
        return new Response(null, { status: answer.status, headers: answer.headers });
      }
      const reader = answer.body.getReader();
      const relay = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              finished = true;
              controller.close();
            } else controller.enqueue(value);
          } catch {
            controller.close();
          }
        },
        cancel: hangUp,
      });
      const out = new Headers(answer.headers);
      out.delete("content-length");
      out.delete("content-encoding");
      return new Response(relay, { status: answer.status, headers: out });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    hangups,
    last(path) {
      return (requests.filter((r) => r.path === path).at(-1)?.body ?? {}) as Record<string, unknown>;
    },
    close: () => server.stop(true),
  };
}
