import { describe, expect, test } from "bun:test";
import { ModelNotFoundError, ServerBusyError, ndjsonResponse, sseResponse } from "../../src/api/index.ts";

async function* chunks<T>(items: T[], fail?: Error): AsyncGenerator<T> {
  for (const item of items) yield item;
  if (fail) throw fail;
}

describe("NDJSON streaming", () => {
  test("one JSON object and a newline per chunk, as application/x-ndjson", async () => {
    const res = await ndjsonResponse(chunks([{ response: "Hel", done: false }, { response: "lo", done: true }]));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(await res.text()).toBe('{"response":"Hel","done":false}\n{"response":"lo","done":true}\n');
  });

  test("a mid-stream error becomes a final error line and the status stays 200", async () => {
    const res = await ndjsonResponse(chunks([{ response: "a" }], new Error("runner crashed")));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"response":"a"}\n{"error":"runner crashed"}\n');
  });

  test("an error before the first chunk gets its own status and a JSON body", async () => {
    const res = await ndjsonResponse(chunks([], new ModelNotFoundError("nope")));
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toEqual({ error: "model 'nope' not found" });
    const busy = await ndjsonResponse(chunks([], new ServerBusyError()));
    expect(busy.status).toBe(503);
  });

  test("a client that disconnects stops the source: its iterator's return() runs", async () => {
    let produced = 0;
    let finalized = false;
    async function* endless() {
      try {
        while (true) {
          produced++;
          yield { n: produced };
          await Bun.sleep(1);
        }
      } finally {
        finalized = true;
      }
    }
    const res = await ndjsonResponse(endless());
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    await Bun.sleep(20);
    expect(finalized).toBe(true);
    const after = produced;
    await Bun.sleep(20);
    expect(produced).toBe(after);
  });

  test("an aborted request signal stops the source too", async () => {
    let finalized = false;
    async function* endless() {
      try {
        while (true) {
          yield { tick: true };
          await Bun.sleep(1);
        }
      } finally {
        finalized = true;
      }
    }
    const controller = new AbortController();
    const res = await ndjsonResponse(endless(), { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await Bun.sleep(20);
    expect(finalized).toBe(true);
  });

  test("through a real server, closing the connection stops generation", async () => {
    let finalized = false;
    async function* endless() {
      try {
        while (true) {
          yield { response: "x", done: false };
          await Bun.sleep(5);
        }
      } finally {
        finalized = true;
      }
    }
    const server = Bun.serve({ port: 0, fetch: (req) => ndjsonResponse(endless(), { signal: req.signal }) });
    try {
      const controller = new AbortController();
      const res = await fetch(server.url, { signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
      for (let i = 0; i < 100 && !finalized; i++) await Bun.sleep(10);
      expect(finalized).toBe(true);
    } finally {
      server.stop(true);
    }
  });
});

describe("SSE streaming for the OpenAI layer", () => {
  test("data: lines, then data: [DONE]", async () => {
    const res = await sseResponse(chunks([{ a: 1 }, { b: 2 }]));
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(await res.text()).toBe('data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n');
  });
  test("a mid-stream error is OpenAI's error envelope and no [DONE]", async () => {
    const res = await sseResponse(chunks([{ a: 1 }], new Error("boom")));
    expect(await res.text()).toBe(
      'data: {"a":1}\n\ndata: {"error":{"message":"boom","type":"api_error","param":null,"code":null}}\n\n',
    );
  });
  test("an early error is a JSON OpenAI error with its status", async () => {
    const res = await sseResponse(chunks([], new ModelNotFoundError("gpt-4")));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { message: "model 'gpt-4' not found", type: "not_found_error", param: null, code: null },
    });
  });
});
