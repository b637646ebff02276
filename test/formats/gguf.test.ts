// GGUF: the header reader against corrupt input, the repack against llama.cpp's own dequantization
// (the `gguf` Python package, part of the oracle), and the two real models end to end.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as mx from "../../src/ffi/index.ts";
import { complete, loadGgufModel } from "../../src/engine/completion.ts";
import { GREEDY } from "../../src/engine/sampler.ts";
import { GgufError, GGML_TYPES, readGguf, readTensorBytes, type GgufTensorInfo } from "../../src/formats/gguf/file.ts";
import { dequantize, repack } from "../../src/formats/gguf/repack.ts";
import { loadGgufWeights } from "../../src/formats/gguf/to-mlx.ts";
import { applyChatTemplate } from "../../src/formats/tokenizer/chat-template.ts";
import { REPO_ROOT, runOracle } from "../oracle.ts";

const SMOLLM2 = join(REPO_ROOT, ".deps/models/smollm2-135m-instruct-q4_1.gguf");
const GEMMA3 = join(REPO_ROOT, ".deps/models/gemma-3-270m-q4_k_m.gguf");
const tmp = mkdtempSync(join(tmpdir(), "ollmlx-gguf-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TYPE_ID: Record<string, number> = Object.fromEntries(Object.entries(GGML_TYPES).map(([id, t]) => [t.name, Number(id)]));

/** Random blocks of a quantized type with sane f16 scales, so both dequantizers see ordinary data. */
function randomBlocks(type: string, nBlocks: number, seed: number): Uint8Array {
  const { bytes } = GGML_TYPES[TYPE_ID[type]!]!;
  const out = new Uint8Array(nBlocks * bytes);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  // f16 fields get small positive values (exponent 8..13), wherever the layout puts them.
  const halfAt: Record<string, number[]> = { Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208], Q2_K: [80, 82], Q3_K: [108], IQ4_NL: [0], IQ4_XS: [0] };
  for (let b = 0; b < nBlocks; b++) {
    for (const off of halfAt[type]!) {
      const o = b * bytes + off;
      out[o + 1] = (8 + (out[o + 1]! % 6)) << 2;
    }
  }
  return out;
}

const DEQUANT = `
import json, sys, numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize
d = json.load(sys.stdin)
out = {}
for name, (type_name, hexdata) in d.items():
    raw = np.frombuffer(bytes.fromhex(hexdata), dtype=np.uint8)
    out[name] = dequantize(raw, T[type_name]).astype(np.float32).reshape(-1).tolist()
print(json.dumps(out))
`;

describe("repack to MLX affine against llama.cpp's dequantization", () => {
  const EXACT = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K"];
  const REQUANT: Record<string, number> = { Q6_K: 8, Q3_K: 4, Q2_K: 4, IQ4_NL: 8, IQ4_XS: 8 };
  const blocks = Object.fromEntries([...EXACT, ...Object.keys(REQUANT)].map((t, i) => [t, randomBlocks(t, GGML_TYPES[TYPE_ID[t]!]!.block === 256 ? 4 : 32, i + 1)]));
  const ref = runOracle<Record<string, number[]>>(
    DEQUANT,
    Object.fromEntries(Object.entries(blocks).map(([t, b]) => [t, [t, Buffer.from(b).toString("hex")]])),
  );
  const info = (type: string, n: number): GgufTensorInfo => ({ name: `synthetic.${type}`, dims: [n / 4, 4], type: TYPE_ID[type]!, offset: 0, nbytes: 0 });

  for (const type of EXACT) {
    test(`${type}: MLX's dequantize of the repacked weight equals ggml's values exactly`, () => {
      const want = ref[type]!;
      const t = info(type, want.length);
      const r = repack(t, blocks[type]!);
      if (r.kind !== "affine") throw new Error("expected an affine repack");
      const [rows, cols] = r.shape as [number, number];
      const got = mx.scope(() =>
        mx
          .dequantize(mx.fromBytes(r.weight, [rows, (cols * r.bits) / 32], "uint32"), mx.fromBytes(r.scales, [rows, cols / 32], "float32"), mx.fromBytes(r.biases, [rows, cols / 32], "float32"), {
            groupSize: 32,
            bits: r.bits,
          })
          .toFloat32(),
      );
      expect(Array.from(got)).toEqual(Float32Array.from(want).reduce<number[]>((a, v) => (a.push(v), a), []));
    });
  }

  for (const [type, bits] of Object.entries(REQUANT)) {
    test(`${type}: dequantized exactly, then requantized by MLX (${bits}-bit, group 32) within one step per group`, () => {
      const want = Float32Array.from(ref[type]!);
      const t = info(type, want.length);
      expect(Array.from(dequantize(t, blocks[type]!))).toEqual(Array.from(want));
      const { maxSteps, rmsRel } = mx.scope(() => {
        const x = mx.array(want, [want.length / 32, 32], "float32");
        const q = mx.quantize(x, { groupSize: 32, bits });
        const back = mx.dequantize(q.wq, q.scales, q.biases!, { groupSize: 32, bits });
        const err = mx.abs(mx.subtract(back, x));
        // a group whose values are all equal (an IQ4_XS sub-block scale of 0) has no step, and no error either
        const steps = mx.maximum(mx.divide(mx.subtract(mx.max(x, [-1], true), mx.min(x, [-1], true)), 2 ** bits - 1), mx.scalar(1e-30, "float32"));
        return {
          maxSteps: mx.max(mx.divide(err, steps)).item(),
          rmsRel: Math.sqrt(mx.mean(mx.square(err)).item() / mx.mean(mx.square(x)).item()),
        };
      });
      // MLX snaps the grid so one edge of the range is exact, which can leave the other edge up to a full step
      // off (its own quantize tests show the same); everything else is within half a step.
      expect(maxSteps).toBeLessThanOrEqual(1 + 1e-3);
      console.log(`${type} → ${bits}-bit: relative RMS error ${rmsRel.toExponential(2)}`);
      expect(rmsRel).toBeLessThan(bits === 8 ? 0.01 : 0.15);
    });
  }

  test("real tensors of every type in both files repack to ggml's values", () => {
    for (const path of [SMOLLM2, GEMMA3]) {
      const f = readGguf(path);
      const firstOfType = new Map<number, GgufTensorInfo>();
      for (const t of f.tensors) if (!firstOfType.has(t.type)) firstOfType.set(t.type, t);
      const req: Record<string, [string, string]> = {};
      const ours: Record<string, Float32Array> = {};
      for (const t of firstOfType.values()) {
        const bytes = readTensorBytes(f, t).subarray(0, Math.min(t.nbytes, GGML_TYPES[t.type]!.bytes * 64));
        const rowLen = t.dims[0]!;
        const part: GgufTensorInfo = { ...t, dims: [rowLen, (bytes.length / GGML_TYPES[t.type]!.bytes) * GGML_TYPES[t.type]!.block / rowLen] };
        if (!Number.isInteger(part.dims[1])) continue;
        req[t.name] = [GGML_TYPES[t.type]!.name, Buffer.from(bytes).toString("hex")];
        ours[t.name] = dequantize(part, bytes);
      }
      const want = runOracle<Record<string, number[]>>(DEQUANT, req);
      for (const [name, v] of Object.entries(ours)) expect({ name, values: Array.from(v) }).toEqual({ name, values: Array.from(Float32Array.from(want[name]!)) });
    }
  });
  test("the native repack (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K) writes the bytes the TypeScript decoders write", () => {
    const covered = new Set<number>();
    for (const path of [SMOLLM2, GEMMA3]) {
      const f = readGguf(path);
      for (const t of f.tensors) {
        const r = readTensorBytes(f, t);
        const ty = GGML_TYPES[t.type]!;
        if (t.dims[0]! % ty.block !== 0) continue;
        const rowBytes = (t.dims[0]! / ty.block) * ty.bytes;
        const rows = Math.min(r.length / rowBytes, 64); // whole rows, at most 64 a tensor
        const bytes = r.subarray(0, rows * rowBytes);
        const part: GgufTensorInfo = { ...t, dims: [t.dims[0]!, rows] };
        const js = repack(part, bytes);
        const native = repack(part, bytes, mx.ggufRepack);
        if (js.kind !== "affine" || native.kind !== "affine") continue;
        if (mx.ggufRepack(t.type, bytes, new Uint8Array(js.weight.byteLength), new Float32Array(js.scales.length), new Float32Array(js.biases.length))) covered.add(t.type);
        expect({ name: t.name, w: Buffer.from(native.weight.buffer).equals(Buffer.from(js.weight.buffer)) }).toEqual({ name: t.name, w: true });
        expect(native.scales).toEqual(js.scales);
        expect(native.biases).toEqual(js.biases);
      }
    }
    // the real files hold Q4_1, Q5_0, Q8_0 and Q4_K
    expect([...covered].map((t) => GGML_TYPES[t]!.name).sort()).toEqual(["Q4_1", "Q4_K", "Q5_0", "Q8_0"]);
  });
  test("widened as they load, Gemma 3's 5-bit layers are 8-bit words of the same values; nothing else changes", () => {
    const plain = loadGgufWeights(GEMMA3);
    const wide = loadGgufWeights(GEMMA3, { widen: true });
    try {
      const q = (w: typeof plain) => w.config.quantization as Record<string, { bits?: number } | number | string>;
      let widened = 0;
      for (const [path, p] of Object.entries(q(plain))) {
        const w = q(wide)[path];
        if (typeof p !== "object" || typeof w !== "object") {
          expect(w).toEqual(p);
          continue;
        }
        expect(w.bits).toBe(p.bits === 4 || p.bits === 8 ? p.bits : 8);
        if (w.bits === p.bits) continue;
        widened++;
        const [a, b] = [plain, wide].map((x) => x.tensors.get(`${path}.weight`)!);
        const values = (t: mx.MxArray, bits: number) =>
          mx.scope(() => mx.dequantize(t, plain.tensors.get(`${path}.scales`)!, plain.tensors.get(`${path}.biases`)!, { groupSize: 32, bits, dtype: "float32" }).toFloat32());
        expect(values(b!, 8)).toEqual(values(a!, p.bits!));
      }
      expect(widened).toBeGreaterThan(0);
      expect([...wide.tensors.keys()].sort()).toEqual([...plain.tensors.keys()].sort());
    } finally {
      for (const w of [plain, wide]) for (const t of w.tensors.values()) t.free();
    }
  });
});

describe("corrupt GGUF files give a clear error, never a crash or a hang", () => {
  const head = readFileSync(SMOLLM2).subarray(0, 8 << 20);
  const write = (name: string, bytes: Uint8Array) => {
    const p = join(tmp, name);
    writeFileSync(p, bytes);
    return p;
  };
  const expectGgufError = (path: string, pattern: RegExp) => {
    let err: unknown = null;
    try {
      readGguf(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GgufError);
    expect((err as Error).message).toMatch(pattern);
  };

  test("truncated anywhere in the header", () => {
    const { dataOffset } = readGguf(SMOLLM2);
    for (const cut of [0, 3, 7, 15, 23, 100, 5_000, 1_000_000, dataOffset - 10, dataOffset + 1000]) {
      expectGgufError(write(`cut-${cut}.gguf`, head.subarray(0, cut)), /truncated|not a GGUF|past the end|offset/);
    }
  });

  test("bad magic, unsupported version, absurd counts, string lengths and dimensions", () => {
    const mutate = (name: string, at: number, bytes: number[]) => {
      const b = Uint8Array.from(head.subarray(0, 2 << 20));
      bytes.forEach((v, i) => (b[at + i] = v));
      return write(name, b);
    };
    expectGgufError(mutate("magic.gguf", 0, [0x47, 0x47, 0x55, 0x47]), /bad magic/);
    expectGgufError(mutate("version.gguf", 4, [9, 0, 0, 0]), /unsupported GGUF version 9/);
    expectGgufError(mutate("tensors.gguf", 8, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0]), /absurd counts at offset 8/);
    expectGgufError(mutate("kv.gguf", 16, [0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0]), /absurd counts/);
    // the first key's length
    expectGgufError(mutate("keylen.gguf", 24, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0]), /runs past the end of the file/);
  });

  test("tensor data past the end of the file", () => {
    const { dataOffset } = readGguf(SMOLLM2);
    expectGgufError(write("data.gguf", head.subarray(0, dataOffset + 4096)), /runs past the end of the file/);
  });

  test("an unsupported quantization type names the tensor and the type", () => {
    const t: GgufTensorInfo = { name: "blk.0.ffn_up.weight", dims: [256, 1], type: TYPE_ID.IQ2_XXS!, offset: 0, nbytes: 66 };
    expect(() => repack(t, new Uint8Array(66))).toThrow(/blk\.0\.ffn_up\.weight has type IQ2_XXS/);
  });
});

async function generate(path: string, prompt: number[], maxTokens: number, dequantize = false) {
  const lm = loadGgufModel("test", path, { dequantize });
  try {
    const it = complete(lm, prompt, { ...GREEDY, maxTokens, numCtx: 4096, stop: [] }, { cancelled: () => false, yieldToLoop: async () => {} });
    const tokens: number[] = [];
    let text = "";
    for await (const e of it) {
      if (e.token >= 0) tokens.push(e.token);
      text += e.text;
    }
    return { tokens, text, lm };
  } finally {
    lm[Symbol.dispose]();
  }
}

describe("real GGUF models", () => {
  test("SmolLM2-135M-Instruct (Q4_1) answers through its chat template, token for token with llama.cpp", async () => {
    const lm = loadGgufModel("smollm2", SMOLLM2);
    const prompt = lm.tokenizer.encode(applyChatTemplate(lm.tokenizer, [{ role: "system", content: "" }, { role: "user", content: "What is the capital of France?" }].slice(1), { addGenerationPrompt: true }), { addSpecialTokens: false });
    lm[Symbol.dispose]();
    // The same prompt ids llama.cpp (node-llama-cpp 3.x, CPU) tokenizes for the ChatML turn without a system
    // message, and llama.cpp's greedy answer to it.
    const LLAMA_CPP_PROMPT = [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198];
    const LLAMA_CPP_ANSWER = [504, 3575, 282, 4649, 314, 7042, 30];
    const noSystem = prompt.slice(prompt.indexOf(1, 1));
    expect(noSystem).toEqual(LLAMA_CPP_PROMPT);
    const { tokens, text } = await generate(SMOLLM2, LLAMA_CPP_PROMPT, 16);
    expect(tokens).toEqual(LLAMA_CPP_ANSWER);
    expect(text).toBe("The capital of France is Paris.");
  });

  test("the CPU fast path (quantized layers as float32 matrices) gives the same answer", async () => {
    const prompt = [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198];
    const dense = await generate(SMOLLM2, prompt, 16, true);
    expect(dense.tokens).toEqual([504, 3575, 282, 4649, 314, 7042, 30]);
  });

  test("Gemma 3 270M (Q4_K_M: Q5_0, Q4_K, Q6_K, Q8_0) completes a factual prompt", async () => {
    const lm = loadGgufModel("gemma3", GEMMA3);
    const prompt = lm.tokenizer.encodePrompt("Q: What is the capital of France?\nA:");
    lm[Symbol.dispose]();
    const { text } = await generate(GEMMA3, prompt, 8);
    expect(text).toContain("Paris");
  });
});

describe("GGUF → mlx-community layout", () => {
  test("mlx-lm loads our conversion of SmolLM2 and greedy-decodes the same tokens as our engine", async () => {
    const { convertGgufToMlx } = await import("../../src/formats/gguf/convert.ts");
    const out = join(tmp, "smollm2-mlx");
    convertGgufToMlx(SMOLLM2, out);
    const prompt = [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198];
    const mlxLm = runOracle<number[]>(
      `
import json, sys
import mlx.core as mx
from mlx_lm import load
from mlx_lm.generate import generate_step
from mlx_lm.sample_utils import make_sampler
d = json.load(sys.stdin)
model, tok = load(d["dir"])
out = [int(t) for (t, _), _ in zip(generate_step(mx.array(d["prompt"]), model, sampler=make_sampler(0.0)), range(12))]
print(json.dumps(out))
`,
      { dir: out, prompt },
    );
    const { tokens } = await generate(SMOLLM2, prompt, 12);
    // ours stops at <|im_end|>; mlx-lm's generate_step does not stop, so compare the common prefix
    expect(mlxLm.slice(0, tokens.length)).toEqual(tokens);
    expect(tokens.length).toBeGreaterThanOrEqual(7);
  });
});

// llama.cpp's own tokenization and greedy tokens for the same files (recorded with node-llama-cpp 3.22.1 on CPU:
// `node bench/llama-cpp/greedy.mjs FILE 12 PROMPT...`; its tokenize() adds no BOS, so neither do we here).
// `agree`: how many leading tokens match, with float activations and with int8 ones alike (`agreeInt8` where not). Two runs part at a near-tie: SmolLM2's "2 + 2" at step 4 (" " vs ":",
// 0.22 nats apart in our logits) and Gemma's BOS-less "Q:/A:" loop at step 3 (0.9 nats apart); we have not
// pinned the Gemma difference down further; with int8 activations also Gemma's BOS-less "def fibonacci(n):" at its first
// token (llama.cpp's 236768 against 779: 0.14 nats apart with float activations, 0.016 the other way with int8 ones
// and the vector GeGLU). Step by step, each of our choices given llama.cpp's tokens before
// it, so that one near-tie does not decide the rest: 64 of the 66 steps agree with float activations and 63 with
// the int8 activations GGUF models get by default on x86-64 (4-bit layers; llama.cpp rounds activations to 8 bits in
// its quantized products too; measured); at least 95 % must.
const LLAMA_CPP: { file: string; prompt: string; ids: number[]; greedy: number[]; agree: number; agreeInt8?: number }[] = [
  { file: SMOLLM2, prompt: "<|im_start|>user\nName the largest planet in the solar system.<|im_end|>\n<|im_start|>assistant\n", ids: [1, 4093, 198, 5820, 260, 3995, 3925, 281, 260, 3693, 817, 30, 2, 198, 1, 520, 9531, 198], greedy: [504, 3995, 3925, 281, 260, 3693, 817, 314, 30461, 28, 527, 314], agree: 12 },
  { file: SMOLLM2, prompt: "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n", ids: [1, 4093, 198, 1780, 314, 216, 34, 1232, 216, 34, 47, 2, 198, 1, 520, 9531, 198], greedy: [504, 2988, 314, 42, 216, 36], agree: 3 },
  { file: SMOLLM2, prompt: "The quick brown fox", ids: [504, 2365, 6354, 16438], greedy: [351, 253, 2365, 6354, 7012, 30, 198, 198, 504, 2798, 6330, 314], agree: 12 },
  { file: GEMMA3, prompt: "Q: What is the capital of France?\nA:", ids: [236935, 236787, 2900, 563, 506, 5279, 529, 7001, 236881, 107, 236776, 236787], greedy: [107, 236776, 236787, 107, 236776, 236787, 107, 236776, 236787, 107, 236776, 236787], agree: 2 },
  { file: GEMMA3, prompt: "The Eiffel Tower is located in the city of", ids: [818, 94648, 25822, 563, 5628, 528, 506, 3207, 529], greedy: [506, 3207, 236761, 5165, 236761, 5165, 236761, 5165, 236761, 5165, 236761, 5165], agree: 12 },
  { file: GEMMA3, prompt: "def fibonacci(n):", ids: [2063, 10779, 78113, 236769, 236749, 1473], greedy: [236768, 108, 185, 185, 185, 185, 185, 185, 185, 185, 185, 185], agree: 12, agreeInt8: 0 },
];

// Whether this CPU has an int8 kernel (x86-64 with AVX2: GGUF models' 4-bit layers use it by default).
const supported = (isa: mx.CpuKernels) => {
  try {
    return mx.cpuKernels({ use: isa }) === isa;
  } catch {
    return false;
  } finally {
    mx.cpuKernels({ use: "best" });
  }
};
const INT8 = process.arch === "x64" && supported("avx2");

describe("against llama.cpp on the same GGUF files", () => {
  for (const kind of ["float", "int8"] as const) {
    test.if(kind === "float" || INT8)(`tokenization is identical for every prompt; greedy tokens agree as recorded, and step by step on llama.cpp's answers (${kind} activations)`, async () => {
      process.env.OLLMLX_CPU_ACTIVATIONS = kind === "int8" ? "auto" : "float";
      let matched = 0;
      let steps = 0;
      try {
        for (const file of [SMOLLM2, GEMMA3]) {
          const cases = LLAMA_CPP.filter((c) => c.file === file);
          const lm = loadGgufModel("llama.cpp-check", file);
          try {
            for (const c of cases) {
              expect({ prompt: c.prompt, ids: lm.tokenizer.encode(c.prompt, { addSpecialTokens: false }) }).toEqual({ prompt: c.prompt, ids: c.ids });
              {
                const it = complete(lm, c.ids, { ...GREEDY, maxTokens: c.greedy.length, numCtx: 4096, stop: [] }, { cancelled: () => false, yieldToLoop: async () => {} });
                const ours: number[] = [];
                for await (const e of it) if (e.token >= 0) ours.push(e.token);
                const agree = kind === "int8" ? (c.agreeInt8 ?? c.agree) : c.agree;
                expect({ prompt: c.prompt, tokens: ours.slice(0, agree) }).toEqual({ prompt: c.prompt, tokens: c.greedy.slice(0, agree) });
                if (agree < c.greedy.length) expect(ours[agree]).not.toBe(c.greedy[agree]);
              }
              // Teacher-forced on llama.cpp's answer: our choice at each step, given llama.cpp's tokens before it.
              const seq = [...c.ids, ...c.greedy.slice(0, -1)];
              const picks = mx.scope(() => {
                const caches = lm.model.makeCache();
                const logits = lm.model.forward(mx.array(seq, [1, seq.length], "int32"), caches);
                const ids = mx.argmax(mx.slice(logits, [0, c.ids.length - 1, 0], [1, seq.length, logits.shape[2]!]), -1).toInt32();
                for (const k of caches) k[Symbol.dispose]();
                return [...ids];
              });
              steps += c.greedy.length;
              matched += picks.filter((t, i) => t === c.greedy[i]).length;
            }
          } finally {
            lm[Symbol.dispose]();
          }
        }
      } finally {
        delete process.env.OLLMLX_CPU_ACTIVATIONS;
        mx.cpuKernels({ use: "best", activations: "float" });
      }
      expect(matched / steps).toBeGreaterThanOrEqual(0.95);
    });
  }
});
