// Every architecture, dense and quantized, against mlx-lm's recorded logits and greedy tokens
// (test/fixtures: tiny random-weight models saved by mlx-lm in the mlx-community layout), on the reference path
// (MLX's own ops); and the shim's CPU kernels against that reference path.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as mx from "../../src/ffi/index.ts";
import { generateTokens } from "../../src/engine/generate.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import type { CausalLM } from "../../src/models/model.ts";
import { loadModelDir, type BuildOptions } from "../../src/models/load.ts";
import { listTinyModels, type ReferencePrompt, type TinyModel } from "../fixtures/tiny-models.ts";
import { greedy, logitsOf, noCancel } from "../fixtures/reference-runs.ts";

// Logit bounds per weight dtype on the reference path: zero. The reference is recorded on this machine with the
// same MLX, and we run the same MLX ops as mlx-lm in the same order, so the logits come out bit-identical.
const BOUND: Record<string, number> = { float32: 0, bfloat16: 0 };
// The shim's kernels against MLX's float32 quantized_matmul: float32 sums in another order, so logits differ
// by float32 rounding carried through the layers; bounded relative to the largest logit.
const KERNEL_BOUND = 1e-4;
// The int8-activation kernels (x86-64: AVX2's, or AVX-512 VNNI's; OLLMLX_CPU_ACTIVATIONS=int8 here, every quantized
// layer) round each 32-run of x to int8, as llama.cpp does:
// measured up to 3.2e-2 of the largest logit on these random-weight models (their logits are flat, and a
// MoE router can pick another expert); bounded at 5e-2.
const INT8_BOUND = 5e-2;
// Gemma 4, LFM2 and Qwen3.5's random-weight hybrids carry the rounding much further (measured 7.5e-2 to 2.7e-1 of the
// largest logit, the recurrent layers compounding it over the positions); real models: test/formats/gguf.test.ts.
const INT8_BOUND_WIDE: Record<string, number> = { gemma4_text: 0.3, gemma4: 0.3, lfm2: 0.3, qwen3_5: 0.3 };
// Models whose router reads 4-bit-quantized activations: routing in these random-weight models is near-tied, and
// rounding the router's input picks other experts (logits 0.3-0.8 apart). Not checked: GGUF's routers stay float
// (llama.cpp does not quantize ffn_gate_inp), and mlx-community's int8 policy leaves 8-bit routers alone.
const ROUTED_IN_4_BITS = (m: TinyModel) =>
  ["mixtral", "deepseek_v2", "deepseek_v3", "glm4_moe", "gpt_oss", "qwen3_5_moe"].includes(m.arch) || m.name.startsWith("gemma4-moe");
// The float kernels at the best instruction set this CPU has, and whether it has the int8 ones.
const FLOAT_KERNELS = (["avx512", "avx2", "baseline"] as const).find((isa) => {
  try {
    return mx.cpuKernels({ use: isa }) === isa;
  } catch {
    return false;
  }
})!;
const INT8 = process.arch === "x64" && FLOAT_KERNELS !== "baseline";

const models: TinyModel[] = await listTinyModels();

beforeAll(() => {
  expect(models.length).toBeGreaterThanOrEqual(19);
});
afterAll(() => mx.cpuKernels({ use: "best" }));

async function sampled(model: CausalLM, p: ReferencePrompt): Promise<number[]> {
  const s = p.sampled;
  const opts = { ...GREEDY, temperature: s.temperature, topK: s.top_k, seed: s.seed, maxTokens: s.tokens.length, numCtx: 1 << 20, eosTokenIds: new Set<number>(), prefillStepSize: s.prefill_step_size };
  const tokens: number[] = [];
  for await (const e of generateTokens(model, p.tokens, opts, noCancel)) tokens.push(e.token);
  return tokens;
}

function withModel<T>(m: TinyModel, kernels: mx.CpuKernels | "best", opts: BuildOptions, f: (model: CausalLM) => T, activations: mx.CpuActivations = "float"): T {
  mx.cpuKernels({ use: kernels, activations });
  const { model } = loadModelDir(m.dir, opts);
  try {
    const r = f(model);
    if (r instanceof Promise) return r.finally(() => model[Symbol.dispose]()) as T;
    model[Symbol.dispose]();
    return r;
  } catch (e) {
    model[Symbol.dispose]();
    throw e;
  }
}

for (const m of models) {
  describe(`${m.name} (${m.arch}, ${m.dtype}${m.quantized ? ", 4-bit" : ""})`, () => {
    test("logits match mlx-lm at every recorded position, for every prompt (MLX's ops)", () => {
      withModel(m, "mlx", {}, (model) => {
        for (const p of m.reference.prompts) {
          const logits = logitsOf(model, p);
          const V = logits.length / p.tokens.length;
          let worst = 0;
          p.logits.positions.forEach((pos, i) => {
            const want = p.logits.values[i]!;
            for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[pos * V + v]! - want[v]!));
          });
          expect(worst).toBeLessThanOrEqual(BOUND[m.dtype]!);
        }
      });
    });

    test("greedy decoding gives mlx-lm's 32 tokens, prefilled in chunks of 32 and in one piece (MLX's ops)", async () => {
      await withModel(m, "mlx", {}, async (model) => {
        for (const p of m.reference.prompts) {
          for (const run of p.greedy) {
            const tokens = await greedy(model, p, run.prefill_step_size, run.tokens.length);
            expect({ prompt: p.name, chunk: run.prefill_step_size, tokens }).toEqual({ prompt: p.name, chunk: run.prefill_step_size, tokens: run.tokens });
          }
        }
      });
    });

    test("seeded sampling (temperature 0.8, top_k 20) gives mlx-lm's 32 tokens after mx.random.seed (MLX's ops)", async () => {
      await withModel(m, "mlx", {}, async (model) => {
        for (const p of m.reference.prompts) {
          expect({ prompt: p.name, tokens: await sampled(model, p) }).toEqual({ prompt: p.name, tokens: p.sampled.tokens });
        }
      });
    });

    if (m.quantized) {
      // In float32 (MLX's CPU kernel sums bfloat16 products in bfloat16, a percent-level error that would be
      // the reference's, not ours: test/ffi/qlinear.test.ts measures it).
      test(`the shim's float CPU kernels: logits within ${KERNEL_BOUND} of MLX's ops and the same greedy tokens, in float32`, async () => {
        const f32 = { floatDtype: "float32" } as const;
        for (const p of m.reference.prompts) {
          const ref = withModel(m, "mlx", f32, (model) => logitsOf(model, p));
          const ours = withModel(m, FLOAT_KERNELS, f32, (model) => logitsOf(model, p));
          let worst = 0;
          let scale = 0;
          for (let i = 0; i < ref.length; i++) {
            worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!));
            scale = Math.max(scale, Math.abs(ref[i]!));
          }
          expect(worst / scale).toBeLessThanOrEqual(KERNEL_BOUND);
          for (const run of p.greedy) {
            const want = await withModel(m, "mlx", f32, (model) => greedy(model, p, run.prefill_step_size, run.tokens.length));
            const got = await withModel(m, FLOAT_KERNELS, f32, (model) => greedy(model, p, run.prefill_step_size, run.tokens.length));
            expect({ prompt: p.name, chunk: run.prefill_step_size, tokens: got }).toEqual({ prompt: p.name, chunk: run.prefill_step_size, tokens: want });
          }
        }
      });

      // Teacher-forced over the prompt and mlx-lm's greedy answer, so that one near-tie does not change every
      // later step: at every position the logits stay within the bound, and wherever the float path's best token
      // leads the runner-up by more than twice the error the bound allows, the int8 path picks the same token.
      const bound = INT8_BOUND_WIDE[m.arch] ?? INT8_BOUND;
      test.if(INT8 && !ROUTED_IN_4_BITS(m))(`the int8-activation kernels: logits within ${bound} of the float kernels, and the same greedy choice wherever it is not a near-tie, in float32`, () => {
        const f32 = { floatDtype: "float32" } as const;
        mx.cpuKernels({ gemm: "never" }); // every row through the int8 kernel, whatever BLAS the process has
        try {
          for (const p of m.reference.prompts) {
            const seq = { ...p, tokens: [...p.tokens, ...p.greedy[0]!.tokens] };
            const ref = withModel(m, FLOAT_KERNELS, f32, (model) => logitsOf(model, seq));
            const ours = withModel(m, FLOAT_KERNELS, f32, (model) => logitsOf(model, seq), "int8");
            const V = ref.length / seq.tokens.length;
            let worst = 0;
            let scale = 0;
            for (let i = 0; i < ref.length; i++) {
              worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!));
              scale = Math.max(scale, Math.abs(ref[i]!));
            }
            expect(worst / scale).toBeLessThanOrEqual(bound);
            let decided = 0;
            for (let pos = 0; pos < seq.tokens.length; pos++) {
              const row = ref.subarray(pos * V, (pos + 1) * V);
              const [best, second] = top2(row);
              if (row[best]! - row[second]! <= 2 * bound * scale) continue;
              decided++;
              expect({ prompt: p.name, pos, token: top2(ours.subarray(pos * V, (pos + 1) * V))[0] }).toEqual({ prompt: p.name, pos, token: best });
            }
            // (at the wide bound these flat random-weight logits leave no position decided: the bound is the check)
            if (bound === INT8_BOUND) expect(decided).toBeGreaterThan(0);
          }
        } finally {
          mx.cpuKernels({ gemm: "auto", activations: "float" });
        }
      });
    }
  });
}

/** The indices of the largest and second-largest values. */
function top2(v: Float32Array): [number, number] {
  let a = 0;
  let b = -1;
  for (let i = 1; i < v.length; i++) {
    if (v[i]! > v[a]!) [a, b] = [i, a];
    else if (b < 0 || v[i]! > v[b]!) b = i;
  }
  return [a, b];
}
