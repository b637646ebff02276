// A test double of the server's HTTP (the CLI is a pure HTTP client): Bun.serve on 127.0.0.1, random port, speaking
// Ollama's wire format for the routes the CLI calls, recording what it was sent. Nothing of MLX is involved.

export interface Recorded {
  method: string;
  path: string;
  body: unknown;
}

export interface StubModel {
  name: string;
  digest: string;
  size: number;
  modifiedAgoMs: number;
  capabilities?: string[];
}

const MINUTE = 60_000;
const FOREVER = "2318-03-02T10:00:00Z";

export interface Stub {
  url: string;
  requests: Recorded[];
  /** Requests to /api/chat or /api/generate the client aborted (connection closed mid-stream). */
  aborted: string[];
  blobs: Map<string, Uint8Array>;
  models: StubModel[];
  /** Resolves the gate a "gated" model's answer waits on. */
  openGate(): void;
  close(): void;
}

const enc = new TextEncoder();
const line = (value: unknown) => enc.encode(JSON.stringify(value) + "\n");
const ndjson = (body: ReadableStream<Uint8Array>) => new Response(body, { headers: { "content-type": "application/x-ndjson" } });
const error = (status: number, message: string) => Response.json({ error: message }, { status });

const METRICS = {
  total_duration: 1_234_567_891,
  load_duration: 12_345_678,
  prompt_eval_count: 26,
  prompt_eval_duration: 130_000_000,
  eval_count: 298,
  eval_duration: 4_567_890_123,
};

/** Streams `chunks` (objects), waiting `delayMs` between them; stops when the client goes away. */
function streamChunks(chunks: unknown[], delayMs: number, signal: AbortSignal, onAbort: () => void, gate?: Promise<void>) {
  return ndjson(
    new ReadableStream<Uint8Array>({
      async start(controller) {
        let abortedSeen = false;
        signal.addEventListener("abort", () => {
          abortedSeen = true;
          onAbort();
        });
        for (let i = 0; i < chunks.length; i++) {
          if (abortedSeen) return;
          if (i === 1 && gate) await gate;
          try {
            controller.enqueue(line(chunks[i]));
          } catch {
            return;
          }
          if (delayMs) await Bun.sleep(delayMs);
        }
        controller.close();
      },
    }),
  );
}

export function startStub(options: { version?: string } = {}): Stub {
  const requests: Recorded[] = [];
  const aborted: string[] = [];
  const blobs = new Map<string, Uint8Array>();
  let openGate = () => {};
  let gate = new Promise<void>((resolve) => (openGate = resolve));
  const models: StubModel[] = [
    { name: "llama3.2:latest", digest: "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72", size: 2_019_393_189, modifiedAgoMs: 2 * MINUTE + 5000, capabilities: ["completion", "tools"] },
    { name: "smollm2:135m", digest: "9077fe9d2ae1a4a7a0d3bd5b5bb8e1a4e2dbb4a5f6b3b5b2c9ad1e4f5a6b7c8d", size: 91_739_413, modifiedAgoMs: 3 * 24 * 60 * MINUTE, capabilities: ["completion"] },
    { name: "qwen3:0.6b", digest: "7df6b6e09427a7df6b6e09427a7df6b6e09427a7df6b6e09427a7df6b6e09427", size: 522_653_767, modifiedAgoMs: 30_000, capabilities: ["completion", "thinking"] },
    { name: "slow:latest", digest: "5100000000005100000000005100000000005100000000005100000000005100", size: 1000, modifiedAgoMs: MINUTE * 90, capabilities: ["completion"] },
    { name: "gated:latest", digest: "6a7e000000006a7e000000006a7e000000006a7e000000006a7e000000006a7e", size: 1000, modifiedAgoMs: MINUTE * 90, capabilities: ["completion"] },
  ];
  const find = (name: string) => models.find((m) => m.name === name || m.name === `${name}:latest`);
  const answer = (model: string, text: string) => {
    if (model.startsWith("slow")) return Array.from({ length: 200 }, (_, i) => `word${i} `);
    if (model.startsWith("gated")) return ["first ", "second ", "third"];
    return [`You `, `said: `, text.trim()];
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const path = url.pathname;
      let body: unknown;
      if (path.startsWith("/api/blobs/") && request.method === "POST") {
        const bytes = new Uint8Array(await request.arrayBuffer());
        const digest = path.slice("/api/blobs/".length);
        const actual = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
        requests.push({ method: request.method, path, body: bytes.byteLength });
        if (actual !== digest) return error(400, `digest mismatch, expected "${digest}", got "${actual}"`);
        blobs.set(digest, bytes);
        return new Response(null, { status: 201 });
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        const text = await request.text();
        body = text ? JSON.parse(text) : undefined;
      }
      requests.push({ method: request.method, path, body });
      const b = (body ?? {}) as Record<string, unknown>;
      const model = String(b.model ?? b.name ?? "");

      if (path === "/") return new Response("Ollama is running");
      if (path === "/api/version") return Response.json({ version: options.version ?? "0.1.0" });
      if (path.startsWith("/api/blobs/")) return new Response(null, { status: blobs.has(path.slice(11)) ? 200 : 404 });
      if (path === "/api/tags") {
        const now = Date.now();
        return Response.json({
          models: models.map((m) => ({
            name: m.name,
            model: m.name,
            modified_at: new Date(now - m.modifiedAgoMs).toISOString(),
            size: m.size,
            digest: m.digest,
            details: { format: "gguf", family: "llama", parameter_size: "3.2B", quantization_level: "Q4_K_M" },
          })),
        });
      }
      if (path === "/api/ps") {
        const now = Date.now();
        const [a, b2] = models;
        return Response.json({
          models: [
            { name: a!.name, model: a!.name, size: 3_400_000_000, size_vram: 3_400_000_000, digest: a!.digest, expires_at: new Date(now + 4 * MINUTE + 30_000).toISOString(), context_length: 4096 },
            { name: b2!.name, model: b2!.name, size: 150_000_000, size_vram: 0, digest: b2!.digest, expires_at: FOREVER, context_length: 8192 },
          ],
        });
      }
      if (path === "/api/show") {
        const m = find(model);
        if (!m) return error(404, `model '${model}' not found`);
        return Response.json({
          modelfile: `# Modelfile generated by "ollama show"\nFROM ${m.name}\nPARAMETER stop <|eot_id|>\n`,
          parameters: 'stop                           "<|start_header_id|>"\nstop                           "<|eot_id|>"',
          template: "{{ .Prompt }}",
          system: "You are a helpful assistant.\nBe brief.\nThird line.",
          license: "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\nLlama 3.2 Version Release Date: September 25, 2024\nmore",
          details: { parent_model: "", format: "gguf", family: "llama", parameter_size: "3.2B", quantization_level: "Q4_K_M" },
          model_info: { "general.architecture": "llama", "general.parameter_count": 3212749888, "llama.context_length": 131072, "llama.embedding_length": 3072 },
          capabilities: m.capabilities ?? ["completion"],
        });
      }
      if (path === "/api/generate" || path === "/api/chat") {
        const m = find(model);
        if (!m) return error(404, `model '${model}' not found`);
        const chat = path === "/api/chat";
        const messages = (b.messages ?? []) as { content: string }[];
        const prompt = chat ? (messages.at(-1)?.content ?? "") : String(b.prompt ?? "");
        const done = (extra: Record<string, unknown>) =>
          chat
            ? { model, created_at: new Date().toISOString(), message: { role: "assistant", content: "" }, done: true, ...extra }
            : { model, created_at: new Date().toISOString(), response: "", done: true, ...extra };
        if (!chat && !prompt) return streamChunks([done({ done_reason: b.keep_alive === 0 ? "unload" : "load" })], 0, request.signal, () => {});
        const thinking = m.capabilities?.includes("thinking") && b.think !== false ? ["Let me think.", " Done."] : [];
        const pieces = [
          ...thinking.map((t) => (chat ? { message: { role: "assistant", content: "", thinking: t } } : { response: "", thinking: t })),
          ...answer(m.name, prompt).map((t) => (chat ? { message: { role: "assistant", content: t } } : { response: t })),
        ].map((p) => ({ model, created_at: new Date().toISOString(), done: false, ...p }));
        const delay = m.name.startsWith("slow") ? 50 : 0;
        return streamChunks([...pieces, done({ done_reason: "stop", ...METRICS })], delay, request.signal, () => aborted.push(path), m.name.startsWith("gated") ? gate : undefined);
      }
      if (path === "/api/pull") {
        if (model.startsWith("missing")) return streamChunks([{ status: "pulling manifest" }, { error: "pull model manifest: file does not exist" }], 0, request.signal, () => {});
        const digest = "sha256:dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff";
        const total = 2_019_377_376;
        const chunks: unknown[] = [{ status: "pulling manifest" }, { status: `pulling ${digest.slice(7, 19)}`, digest, total }];
        for (const f of [0.25, 0.5, 1]) chunks.push({ status: `pulling ${digest.slice(7, 19)}`, digest, total, completed: Math.round(total * f) });
        chunks.push({ status: "verifying sha256 digest" }, { status: "writing manifest" }, { status: "success" });
        if (!find(model)) models.push({ name: model.includes(":") ? model : `${model}:latest`, digest: "ab".repeat(32), size: total, modifiedAgoMs: 0 });
        return streamChunks(chunks, Number(url.searchParams.get("delay") ?? 0) || (model.startsWith("slowpull") ? 150 : 0), request.signal, () => {});
      }
      if (path === "/api/push") {
        const digest = "sha256:1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef";
        return streamChunks(
          [{ status: "retrieving manifest" }, { status: "pushing 1234567890ab", digest, total: 1000, completed: 1000 }, { status: "pushing manifest" }, { status: "success" }],
          0,
          request.signal,
          () => {},
        );
      }
      if (path === "/api/create") {
        if (b.from && !find(String(b.from))) return streamChunks([{ error: `model '${b.from}' not found` }], 0, request.signal, () => {});
        for (const digest of Object.values((b.files ?? {}) as Record<string, string>)) {
          if (!blobs.has(digest)) return error(400, `missing blob ${digest}`);
        }
        models.push({ name: model.includes(":") ? model : `${model}:latest`, digest: "cd".repeat(32), size: 10, modifiedAgoMs: 0 });
        return streamChunks([{ status: "using existing layer sha256:aaaa" }, { status: "writing manifest" }, { status: "success" }], 0, request.signal, () => {});
      }
      if (path === "/api/delete") {
        const i = models.findIndex((m) => m === find(model));
        if (i < 0) return error(404, `model '${model}' not found`);
        models.splice(i, 1);
        return new Response(null);
      }
      if (path === "/api/copy") {
        const source = find(String(b.source));
        if (!source) return error(404, `model "${b.source}" not found`);
        models.push({ ...source, name: String(b.destination) });
        return new Response(null);
      }
      return new Response("404 page not found", { status: 404 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    aborted,
    blobs,
    models,
    openGate: () => {
      openGate();
      gate = new Promise<void>((resolve) => (openGate = resolve));
    },
    close: () => server.stop(true),
  };
}
