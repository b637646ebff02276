// The generation loop end to end on a tiny random-weight llama made by mlx-lm: greedy and seeded sampling
// token for token with mlx-lm's generate_step, stop strings, and memory that comes back after 2k tokens.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as mx from "../../src/ffi/index.ts";
import { complete, loadMlxModel, type CompletionOptions, type LoadedModel } from "../../src/engine/completion.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import { REPO_ROOT, runOracle } from "../oracle.ts";

let dir = "";
let lm: LoadedModel;
const PROMPT = "Hello there, how are you doing today? Tell me about the weather.";

const MAKE = `
import json, os, sys, shutil, gzip
import mlx.core as mx, mlx.nn as nn
from mlx.utils import tree_map
from mlx_lm.models import llama
from mlx_lm.utils import save_model, save_config
d = json.load(sys.stdin)
mx.random.seed(0)
args = llama.ModelArgs(model_type="llama", hidden_size=64, num_hidden_layers=2, intermediate_size=128,
    num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, vocab_size=6282,
    tie_word_embeddings=True, max_position_embeddings=4096)
m = llama.Model(args)
# larger weights than the default init, so greedy decoding wanders instead of repeating one token
m.update(tree_map(lambda p: p * 3 if p.ndim == 2 else p, m.parameters()))
mx.eval(m.parameters())
save_model(d["dir"], m)
save_config(dict(args.__dict__), os.path.join(d["dir"], "config.json"))
print("{}")
`;

const RUN = `
import json, sys
import mlx.core as mx
from mlx_lm import load
from mlx_lm.generate import generate_step
from mlx_lm.sample_utils import make_sampler
d = json.load(sys.stdin)
model, tok = load(d["dir"])
prompt = mx.array(tok.encode(d["prompt"]))
out = {}
out["prompt"] = prompt.tolist()
out["greedy"] = [int(t) for (t, _), _ in zip(generate_step(prompt, model, sampler=make_sampler(0.0), prefill_step_size=4), range(32))]
mx.random.seed(d["seed"])
out["sampled"] = [int(t) for (t, _), _ in zip(generate_step(prompt, model, sampler=make_sampler(0.8, top_k=20), prefill_step_size=4), range(32))]
print(json.dumps(out))
`;

let ref: { prompt: number[]; greedy: number[]; sampled: number[] };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ollmlx-gen-"));
  const tok = join(REPO_ROOT, "test/formats/tokenizer-fixtures/qwen3-mini");
  writeFileSync(join(dir, "tokenizer.json"), Bun.gunzipSync(await Bun.file(join(tok, "tokenizer.json.gz")).bytes()));
  writeFileSync(join(dir, "tokenizer_config.json"), await Bun.file(join(tok, "tokenizer_config.json")).text());
  runOracle(MAKE, { dir });
  ref = runOracle(RUN, { dir, prompt: PROMPT, seed: 42 });
  lm = await loadMlxModel("tiny", dir);
});

afterAll(() => {
  lm?.[Symbol.dispose]();
  rmSync(dir, { recursive: true, force: true });
});

const noCancel = { cancelled: () => false, yieldToLoop: async () => {} };

async function run(opts: Partial<CompletionOptions>, prompt = ref.prompt) {
  const it = complete(lm, prompt, { ...GREEDY, maxTokens: 32, numCtx: 8192, stop: [], prefillStepSize: 4, ...opts }, noCancel);
  const tokens: number[] = [];
  let text = "";
  while (true) {
    const r = await it.next();
    if (r.done) return { tokens, text, stats: r.value };
    if (r.value.token >= 0) tokens.push(r.value.token);
    text += r.value.text;
  }
}

describe("generation against mlx-lm", () => {
  test("the prompt tokenizes to the same ids", () => {
    expect(lm.tokenizer.encodePrompt(PROMPT)).toEqual(ref.prompt);
  });

  test("greedy: the same 32 tokens as mlx-lm, with the prompt prefilled in chunks of 4", async () => {
    const { tokens, stats } = await run({});
    expect(tokens).toEqual(ref.greedy);
    expect(stats.finishReason).toBe("length");
    expect(stats.promptTokens).toBe(ref.prompt.length);
    expect(stats.generatedTokens).toBe(32);
  });

  test("seeded sampling (temperature 0.8, top_k 20): the same tokens as mlx-lm with mx.random.seed", async () => {
    const a = await run({ temperature: 0.8, topK: 20, seed: 42 });
    expect(a.tokens).toEqual(ref.sampled);
    const b = await run({ temperature: 0.8, topK: 20, seed: 42 });
    expect(b.tokens).toEqual(a.tokens);
  });

  test("a stop string split across tokens ends generation and is never emitted", async () => {
    const full = await run({});
    // A stop string that straddles the boundary between the 6th and 7th generated tokens.
    const pieces = full.tokens.map((t) => lm.tokenizer.decode([t]));
    const upTo6 = pieces.slice(0, 6).join("");
    const stop = upTo6.slice(-2) + pieces[6]!.slice(0, 2);
    expect(stop.length).toBeGreaterThanOrEqual(3);
    const cut = full.text.indexOf(stop);
    const stopped = await run({ stop: [stop] });
    expect(stopped.stats.finishReason).toBe("stop");
    expect(stopped.text).toBe(full.text.slice(0, cut));
    expect(stopped.text.includes(stop)).toBe(false);
  });

  test("2,000 generated tokens leave no live handle behind and MLX memory where it was", async () => {
    mx.clearCache();
    const handles = mx.liveCount();
    const active = mx.memory.active();
    const long = await run({ maxTokens: 2000, temperature: 0.7, seed: 1 }, ref.prompt);
    expect(long.stats.generatedTokens).toBeGreaterThan(100);
    mx.clearCache();
    expect(mx.liveCount()).toBe(handles);
    expect(Math.abs(mx.memory.active() - active)).toBeLessThan(64 * 1024);
  });
});
