// The hybrid recurrent architectures read their weights in every layout they come in: mlx-lm's (the tiny
// fixtures), Hugging Face's raw one (the conv as PyTorch's (C, 1, K); Qwen3.5's RMSNorms stored as scale - 1 and its
// mtp.* layers), and llama.cpp's squeezed (C, K) conv. Each gives the logits mlx-lm records for the fixture.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as mx from "../../src/ffi/index.ts";
import { build } from "../../src/models/load.ts";
import type { CausalLM } from "../../src/models/model.ts";
import { listTinyModels, type TinyModel } from "../fixtures/tiny-models.ts";

const models = await listTinyModels();
const fixture = (name: string): TinyModel => models.find((m) => m.name === name)!;

beforeAll(() => mx.cpuKernels({ use: "mlx" }));
afterAll(() => mx.cpuKernels({ use: "best" }));

/** The fixture's tensors under the text model's names, each passed through `edit` (null drops it). */
function tensorsOf(m: TinyModel, edit: (name: string, t: mx.MxArray) => mx.MxArray | null): Map<string, mx.MxArray> {
  const out = new Map<string, mx.MxArray>();
  for (const [name, t] of mx.loadSafetensors(join(m.dir, "model.safetensors")).tensors) {
    const text = name.replace(/^language_model\./, "");
    const edited = edit(text, t);
    if (edited !== t) t.free();
    if (edited) out.set(text, mx.persist(edited));
  }
  return out;
}

/** The largest |logit - mlx-lm's| over every recorded position of every prompt, relative to the largest logit. */
function worstError(model: CausalLM, m: TinyModel): number {
  let worst = 0;
  let scale = 0;
  for (const p of m.reference.prompts) {
    const caches = model.makeCache();
    const logits = mx.scope(() => model.forward(mx.array(p.tokens, [1, p.tokens.length], "int32"), caches).toFloat32());
    for (const c of caches) c[Symbol.dispose]();
    const V = m.reference.vocab_size;
    p.logits.positions.forEach((pos, i) => {
      for (let v = 0; v < V; v++) {
        worst = Math.max(worst, Math.abs(logits[pos * V + v]! - p.logits.values[i]![v]!));
        scale = Math.max(scale, Math.abs(p.logits.values[i]![v]!));
      }
    });
  }
  return worst / scale;
}

function textConfig(m: TinyModel): Record<string, unknown> {
  const config = JSON.parse(readFileSync(join(m.dir, "config.json"), "utf8")) as Record<string, unknown>;
  return config.text_config ? { ...(config.text_config as Record<string, unknown>), model_type: config.model_type } : config;
}

test("lfm2: the conv as Hugging Face stores it (hidden, 1, K) and as llama.cpp does (hidden, K) gives mlx-lm's logits bit for bit", () => {
  const m = fixture("lfm2-f32");
  for (const layout of ["hf", "gguf"] as const) {
    const tensors = tensorsOf(m, (name, t) => {
      if (!name.endsWith("conv.conv.weight")) return t;
      return layout === "hf" ? mx.contiguous(mx.transpose(t, [0, 2, 1])) : mx.reshape(t, t.shape.slice(0, 2));
    });
    const { model } = build(textConfig(m), tensors);
    try {
      expect({ layout, error: worstError(model, m) }).toEqual({ layout, error: 0 });
    } finally {
      model[Symbol.dispose]();
    }
  }
});

test("qwen3_5: a raw Hugging Face checkpoint (conv (C, 1, K), RMSNorms as scale - 1, mtp.* layers) gives mlx-lm's logits within float32 rounding", () => {
  const m = fixture("qwen3_5-f32");
  const offset = /(input_layernorm|post_attention_layernorm|q_norm|k_norm)\.weight$|^model\.norm\.weight$/;
  const tensors = tensorsOf(m, (name, t) => {
    if (name.endsWith("conv1d.weight")) return mx.contiguous(mx.transpose(t, [0, 2, 1]));
    if (offset.test(name)) return mx.subtract(t, 1);
    return t;
  });
  tensors.set("mtp.fc.weight", mx.persist(mx.zeros([4, 4])));
  const { model } = build(textConfig(m), tensors);
  try {
    // (w - 1) + 1 rounds in float32: the norms' scales move by an ulp at most
    expect(worstError(model, m)).toBeLessThan(1e-5);
  } finally {
    model[Symbol.dispose]();
  }
});
