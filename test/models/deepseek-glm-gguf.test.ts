// DeepSeek-V2, DeepSeek-V3 and GLM-4.5 MoE in their GGUF form: each tiny float32 fixture (make_tiny_models.py)
// written as llama.cpp's converter writes it (make_tiny_gguf.py: "deepseek2" for both DeepSeeks, MLA as MQA with
// kv_b_proj split into attn_k_b / attn_v_b, or whole as attn_kv_b with --mla-fused as older converters wrote it;
// "glm4moe"; stacked ffn_*_exps, ffn_*_shexp, exp_probs_b) loads through the GGUF path and computes what mlx-lm
// computes for the directory, bit for bit; and /api/show names the family and parameter size for both forms.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as mx from "../../src/ffi/index.ts";
import { ggufConfigBlob, parameterSize } from "../../src/formats/gguf/model-info.ts";
import { loadGgufWeights } from "../../src/formats/gguf/to-mlx.ts";
import { build } from "../../src/models/load.ts";
import { mlxConfigBlob } from "../../src/store/pull-hf.ts";
import { cachedOutput } from "../fixtures/cached.ts";
import { listTinyModels, type TinyModel } from "../fixtures/tiny-models.ts";
import { oraclePath } from "../oracle.ts";
import { post, startServer, type TestServer } from "../routes/harness.ts";
import { greedy, logitsOf } from "../fixtures/reference-runs.ts";

const FORMS: { modelType: string; gguf: string; fused?: boolean }[] = [
  { modelType: "deepseek_v2", gguf: "deepseek2" },
  { modelType: "deepseek_v2", gguf: "deepseek2", fused: true },
  { modelType: "deepseek_v3", gguf: "deepseek2" },
  { modelType: "deepseek_v3", gguf: "deepseek2", fused: true },
  { modelType: "glm4_moe", gguf: "glm4moe" },
];

const tiny = await listTinyModels();
const fixture = (modelType: string): TinyModel => tiny.find((m) => m.arch === modelType && m.dtype === "float32" && !m.quantized)!;
const ggufOf = (m: TinyModel, fused = false) =>
  cachedOutput("tiny-gguf", "make_tiny_gguf.py", fused ? ["--mla-fused", m.dir] : [m.dir], `${m.name}${fused ? "-fused" : ""}.gguf`, [oraclePath()], ["make_tiny_models.py"]);

/** The numbers a float safetensors file holds, from its header. */
function safetensorsCount(path: string): number {
  const bytes = readFileSync(path);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8")) as Record<string, { shape?: number[] }>;
  return Object.entries(header).reduce((n, [k, t]) => (k === "__metadata__" ? n : n + (t.shape ?? []).reduce((a, b) => a * b, 1)), 0);
}

beforeAll(() => mx.cpuKernels({ use: "mlx" }));
afterAll(() => mx.cpuKernels({ use: "best" }));

for (const form of FORMS) {
  const kv = form.modelType.startsWith("deepseek") ? (form.fused ? ", kv_b whole (attn_kv_b)" : ", kv_b split (attn_k_b / attn_v_b)") : "";
  describe(`${form.modelType} as llama.cpp's "${form.gguf}" GGUF${kv}`, () => {
    test("loads under llama.cpp's names and metadata and gives mlx-lm's logits bit for bit and its greedy tokens", async () => {
      const m = fixture(form.modelType);
      const { config, tensors } = loadGgufWeights(ggufOf(m, form.fused));
      expect(config.model_type).toBe(form.modelType);
      const { model } = build(config, tensors);
      try {
        for (const p of m.reference.prompts) {
          const logits = logitsOf(model, p);
          const V = logits.length / p.tokens.length;
          let worst = 0;
          p.logits.positions.forEach((pos, i) => {
            const want = p.logits.values[i]!;
            for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[pos * V + v]! - want[v]!));
          });
          expect({ prompt: p.name, error: worst }).toEqual({ prompt: p.name, error: 0 });
          for (const run of p.greedy) {
            expect({ prompt: p.name, chunk: run.prefill_step_size, tokens: await greedy(model, p, run.prefill_step_size) }).toEqual({
              prompt: p.name,
              chunk: run.prefill_step_size,
              tokens: run.tokens,
            });
          }
        }
      } finally {
        model[Symbol.dispose]();
      }
    }, 600_000);
  });
}

describe("/api/show", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({}, { empty: true });
  });
  afterAll(() => server?.close());

  test("names the family and the parameter count of each, from config.json's model_type and from the GGUF's general.architecture", async () => {
    for (const form of FORMS.filter((f) => !f.fused)) {
      const m = fixture(form.modelType);
      const config = JSON.parse(readFileSync(join(m.dir, "config.json"), "utf8")) as Record<string, unknown>;
      await server.store.importMlxDir(`${m.name}:mlx`, m.dir, mlxConfigBlob(config));
      const file = ggufOf(m);
      await server.store.importGguf(`${m.name}:gguf`, file, ggufConfigBlob(file));
      for (const [tag, family] of [["mlx", form.modelType], ["gguf", form.gguf]] as const) {
        const show = (await (await post(server.url, "/api/show", { model: `${m.name}:${tag}` })).json()) as {
          details: { family: string; families: string[]; parameter_size: string };
        };
        expect({ tag, family: show.details.family, families: show.details.families }).toEqual({ tag, family, families: [family] });
        // the GGUF's size counts its tensors: the directory's numbers (V3's kv_b halves, V2's whole kv_b hold as many)
        if (tag === "gguf") expect(show.details.parameter_size).toBe(parameterSize(safetensorsCount(join(m.dir, "model.safetensors"))));
      }
    }
  }, 600_000);
});
