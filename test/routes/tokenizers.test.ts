// The server's copy of a model's tokenizer (routes/tokenizers.ts): the runner's own tokenizer, loaded once per model.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Tokenizer } from "../../src/formats/tokenizer/tokenizer.ts";
import { modelTokenizer } from "../../src/routes/tokenizers.ts";
import { tinyQwen3Dir } from "./fixtures/tiny-model.ts";
import { importPlainModel } from "./fixtures/tiny-variants.ts";
import { startServer, TINY, type TestServer } from "./harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  await importPlainModel(server.store, "plain");
});
afterAll(async () => {
  await server.close();
});

test("a model's tokenizer is the one its runner loads, built once and shared by later requests", async () => {
  const model = server.store.get(TINY);
  const first = modelTokenizer(server.store, model);
  expect(modelTokenizer(server.store, model)).toBe(first);
  const tokenizer = await first;
  const reference = await Tokenizer.fromFiles(tinyQwen3Dir());
  const text = "<|im_start|>user\nhello there<|im_end|>\n";
  expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual(reference.encode(text, { addSpecialTokens: false }));
  expect(tokenizer.specialTokens).toEqual(reference.specialTokens);
  expect(tokenizer.chatTemplate).toBe(reference.chatTemplate);
  // another model (another manifest, so another folder of links) has its own
  expect(modelTokenizer(server.store, server.store.get("plain"))).not.toBe(first);
});
