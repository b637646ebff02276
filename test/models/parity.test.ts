// Every architecture, dense and quantized, against mlx-lm's recorded logits and greedy tokens
// (test/fixtures: tiny random-weight models saved by mlx-lm in the mlx-community layout).
import { beforeAll, describe, expect, test } from "bun:test";
import * as mx from "../../src/ffi/index.ts";
import { generateTokens } from "../../src/engine/generate.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import { loadModelDir } from "../../src/models/load.ts";
import { listTinyModels, type TinyModel } from "../fixtures/tiny-models.ts";

// Logit bounds per weight dtype: zero. The reference is recorded on this machine with the same MLX, and we run
// the same MLX ops as mlx-lm in the same order, so the logits come out bit-identical.
const BOUND: Record<string, number> = { float32: 0, bfloat16: 0 };

const models: TinyModel[] = await listTinyModels();

beforeAll(() => {
  expect(models.length).toBeGreaterThanOrEqual(19);
});

const noCancel = { cancelled: () => false, yieldToLoop: async () => {} };

for (const m of models) {
  describe(`${m.name} (${m.arch}, ${m.dtype}${m.quantized ? ", 4-bit" : ""})`, () => {
    test("logits match mlx-lm at every recorded position, for every prompt", () => {
      const { model } = loadModelDir(m.dir);
      try {
        for (const p of m.reference.prompts) {
          const caches = model.makeCache();
          const logits = mx.scope(() => mx.astype(model.forward(mx.array(p.tokens, [1, p.tokens.length], "int32"), caches), "float32").toFloat32());
          for (const c of caches) c[Symbol.dispose]();
          const V = logits.length / p.tokens.length;
          let worst = 0;
          p.logits.positions.forEach((pos, i) => {
            const want = p.logits.values[i]!;
            for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[pos * V + v]! - want[v]!));
          });
          expect(worst).toBeLessThanOrEqual(BOUND[m.dtype]!);
        }
      } finally {
        model[Symbol.dispose]();
      }
    });

    test("greedy decoding gives mlx-lm's 32 tokens, prefilled in chunks of 32 and in one piece", async () => {
      const { model } = loadModelDir(m.dir);
      try {
        for (const p of m.reference.prompts) {
          for (const run of p.greedy) {
            const tokens: number[] = [];
            const it = generateTokens(
              model,
              p.tokens,
              { ...GREEDY, maxTokens: run.tokens.length, numCtx: 1 << 20, eosTokenIds: new Set(), prefillStepSize: run.prefill_step_size },
              noCancel,
            );
            for await (const e of it) tokens.push(e.token);
            expect({ prompt: p.name, chunk: run.prefill_step_size, tokens }).toEqual({ prompt: p.name, chunk: run.prefill_step_size, tokens: run.tokens });
          }
        }
      } finally {
        model[Symbol.dispose]();
      }
    });
  });
}
