// Every chat architecture in its GGUF form (but gemma3, tested on a real file, and mistral3): each tiny float32
// fixture (make_tiny_models.py) written as llama.cpp's converter writes that architecture (make_tiny_gguf.py: its
// architecture name, tensor names, metadata keys and transforms) loads through the GGUF path and computes what mlx-lm
// computes for the directory; and /api/show names the family for both forms. (parity.test.ts covers the directories.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as mx from "../../src/ffi/index.ts";
import { ggufConfigBlob } from "../../src/formats/gguf/model-info.ts";
import { loadGgufWeights } from "../../src/formats/gguf/to-mlx.ts";
import { build } from "../../src/models/load.ts";
import { mlxConfigBlob } from "../../src/store/pull-hf.ts";
import { cachedOutput } from "../fixtures/cached.ts";
import { listTinyModels, type TinyModel } from "../fixtures/tiny-models.ts";
import { oraclePath } from "../oracle.ts";
import { post, startServer, type TestServer } from "../routes/harness.ts";
import { greedy, logitsOf } from "../fixtures/reference-runs.ts";

/**
 * model_type → llama.cpp's architecture name; `permuted`: llama.cpp's converter permutes their Q/K rows; `loadsAs`: the
 * model_type the GGUF loads as, where llama.cpp's architecture does not tell it apart (Mistral is llama to it).
 * `fixture`: the tiny model's name where its arch (a wrapper's) does not find it; `family`: what /api/show names
 * for its MLX directory, where that is the wrapper's.
 */
const FAMILIES: { modelType: string; gguf: string; permuted?: boolean; loadsAs?: string; bound?: number; fixture?: string; family?: string }[] = [
  { modelType: "llama", gguf: "llama", permuted: true },
  { modelType: "mistral", gguf: "llama", permuted: true, loadsAs: "llama" },
  { modelType: "qwen2", gguf: "qwen2" },
  { modelType: "qwen3", gguf: "qwen3" },
  { modelType: "phi3", gguf: "phi3" },
  { modelType: "qwen3_moe", gguf: "qwen3moe" },
  { modelType: "gemma2", gguf: "gemma2" },
  { modelType: "olmo2", gguf: "olmo2" },
  { modelType: "starcoder2", gguf: "starcoder2" },
  { modelType: "granite", gguf: "granite", permuted: true },
  { modelType: "smollm3", gguf: "smollm3", permuted: true },
  { modelType: "cohere2", gguf: "cohere2" },
  { modelType: "mixtral", gguf: "llama", permuted: true },
  { modelType: "gpt_oss", gguf: "gpt-oss" },
  { modelType: "lfm2", gguf: "lfm2" },
  // value heads tiled (out_proj sums its inputs in another order), A stored as -exp(A_log)
  { modelType: "qwen3_5", gguf: "qwen35", bound: 1e-5 },
  { modelType: "qwen3_5_moe", gguf: "qwen35moe", bound: 1e-5 },
  // the text model of a mistral3 wrapper (its fixture's arch is the wrapper's); yarn RoPE and Llama 4's temperature
  { modelType: "ministral3", gguf: "mistral3", permuted: true, fixture: "ministral3-f32", family: "mistral3" },
];

// Unpermuted, the GGUF holds the directory's float32 weights exactly and the model runs the same ops: the logits are
// mlx-lm's to the bit. Permuted Q/K rows make each q·k dot product sum in another order: float32 rounding.
const PERMUTED_BOUND = 1e-5;

const tiny = await listTinyModels();
const fixture = (modelType: string, name?: string): TinyModel =>
  tiny.find((m) => (name ? m.name === name : m.arch === modelType && m.dtype === "float32" && !m.quantized))!;
const ggufOf = (m: TinyModel) => cachedOutput("tiny-gguf", "make_tiny_gguf.py", [m.dir], `${m.name}.gguf`, [oraclePath()], ["make_tiny_models.py"]);

beforeAll(() => mx.cpuKernels({ use: "mlx" }));
afterAll(() => mx.cpuKernels({ use: "best" }));

for (const family of FAMILIES) {
  describe(`${family.modelType} as llama.cpp's "${family.gguf}" GGUF`, () => {
    const bound = family.bound ?? (family.permuted ? PERMUTED_BOUND : 0);
    test(`loads under llama.cpp's names and gives mlx-lm's logits ${bound > 0 ? `(within ${bound} of the largest)` : "bit for bit"} and greedy tokens`, async () => {
      const m = fixture(family.modelType, family.fixture);
      const { config, tensors } = loadGgufWeights(ggufOf(m));
      expect(config.model_type).toBe(family.loadsAs ?? family.modelType);
      const { model } = build(config, tensors);
      try {
        for (const p of m.reference.prompts) {
          const logits = logitsOf(model, p);
          const V = logits.length / p.tokens.length;
          let worst = 0;
          let scale = 0;
          p.logits.positions.forEach((pos, i) => {
            const want = p.logits.values[i]!;
            for (let v = 0; v < V; v++) {
              worst = Math.max(worst, Math.abs(logits[pos * V + v]! - want[v]!));
              scale = Math.max(scale, Math.abs(want[v]!));
            }
          });
          expect({ prompt: p.name, error: bound > 0 ? worst / scale <= bound : worst }).toEqual({ prompt: p.name, error: bound > 0 ? true : 0 });
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
    });
  });
}

describe("/api/show names the family", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({}, { empty: true });
  });
  afterAll(() => server?.close());

  test("of each architecture, from config.json's model_type and from the GGUF's general.architecture", async () => {
    for (const family of FAMILIES) {
      const m = fixture(family.modelType, family.fixture);
      const config = JSON.parse(readFileSync(join(m.dir, "config.json"), "utf8")) as Record<string, unknown>;
      await server.store.importMlxDir(`${m.name}:mlx`, m.dir, mlxConfigBlob(config));
      const file = ggufOf(m);
      await server.store.importGguf(`${m.name}:gguf`, file, ggufConfigBlob(file));
      for (const [tag, family_] of [["mlx", family.family ?? family.modelType], ["gguf", family.gguf]] as const) {
        expect(await familyOf(`${m.name}:${tag}`)).toEqual({ model: `${m.name}:${tag}`, family: family_, families: [family_] });
      }
    }
  });

  test("of a text model under a VLM-style wrapper (mistral3): the wrapper's model_type, as Ollama names the family", async () => {
    for (const name of ["mistral3-f32", "ministral3-f32"]) {
      const m = tiny.find((t) => t.name === name)!;
      await server.store.importMlxDir(name, m.dir, mlxConfigBlob(JSON.parse(readFileSync(join(m.dir, "config.json"), "utf8")) as Record<string, unknown>));
      expect(await familyOf(name)).toEqual({ model: name, family: "mistral3", families: ["mistral3"] });
    }
  });

  async function familyOf(model: string) {
    const show = (await (await post(server.url, "/api/show", { model })).json()) as { details: { family: string; families: string[] } };
    return { model, family: show.details.family, families: show.details.families };
  }
});
