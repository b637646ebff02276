// The sampler against mlx-lm's own functions (sample_utils.py) on fixed logits, and seeded reproducibility.
import { describe, expect, test } from "bun:test";
import * as mx from "../../src/ffi/index.ts";
import { applyMinP, applyPenalties, applyTopK, applyTopP, logprobsOf, sample, GREEDY } from "../../src/engine/sampler.ts";
import { runOracle } from "../oracle.ts";

const V = 64;
const logits = Array.from({ length: V }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 5) * 0.3);

function ours(fn: (lp: mx.MxArray) => mx.MxArray): number[] {
  return mx.scope(() => Array.from(fn(logprobsOf(mx.array(logits, [1, V]))).toFloat32()));
}

const ORACLE = `
import sys, json, mlx.core as mx
from mlx_lm.sample_utils import apply_top_p, apply_min_p, apply_top_k, make_logits_processors
d = json.load(sys.stdin)
l = mx.array([d["logits"]])
lp = l - mx.logsumexp(l, axis=-1, keepdims=True)
hist = mx.array(d["history"])
out = {
  "top_p": apply_top_p(lp, 0.7).tolist()[0],
  "min_p": apply_min_p(lp, 0.2).tolist()[0],
  "top_k": apply_top_k(lp, 7).tolist()[0],
}
procs = make_logits_processors(repetition_penalty=1.3, repetition_context_size=64, presence_penalty=0.5, presence_context_size=64, frequency_penalty=0.25, frequency_context_size=64)
pl = l
for p in procs:
    pl = p(hist, pl)
out["penalized"] = pl.tolist()[0]
# JSON has no infinities: a masked logit comes back as null
print(json.dumps({k: [None if x == float("-inf") else x for x in v] for k, v in out.items()}))
`;

const history = [3, 7, 7, 12, 3, 40, 7];
type Ref = Record<"top_p" | "min_p" | "top_k" | "penalized", (number | null)[]>;
const raw = runOracle<Ref>(ORACLE, { logits, history });
const unmask = (xs: (number | null)[]) => xs.map((x) => (x === null ? -Infinity : x));
const ref = { top_p: unmask(raw.top_p), min_p: unmask(raw.min_p), top_k: unmask(raw.top_k), penalized: unmask(raw.penalized) };

function expectSameMasked(got: number[], want: number[]) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    if (want[i] === -Infinity) expect(got[i]).toBe(-Infinity);
    else expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-6);
  }
}

describe("sampler filters match mlx-lm", () => {
  test("top_p keeps the same nucleus", () => expectSameMasked(ours((lp) => applyTopP(lp, 0.7)), ref.top_p));
  test("min_p drops the same tokens", () => expectSameMasked(ours((lp) => applyMinP(lp, 0.2)), ref.min_p));
  test("top_k keeps the same k tokens", () => {
    const got = ours((lp) => applyTopK(lp, 7));
    expectSameMasked(got, ref.top_k);
    expect(got.filter((x) => x !== -Infinity).length).toBe(7);
  });
  test("repetition, presence and frequency penalties equal mlx-lm's processors", () => {
    const got = mx.scope(() =>
      Array.from(
        applyPenalties(mx.array(logits, [1, V]), mx.array(history, [history.length], "int32"), {
          ...GREEDY,
          repeatPenalty: 1.3,
          presencePenalty: 0.5,
          frequencyPenalty: 0.25,
        }).toFloat32(),
      ),
    );
    expectSameMasked(got, ref.penalized);
  });
});

describe("sampling", () => {
  test("temperature 0 is argmax", () => {
    const tok = mx.scope(() => sample(logprobsOf(mx.array(logits, [1, V])), GREEDY, null).item());
    expect(tok).toBe(logits.indexOf(Math.max(...logits)));
  });

  test("the same key gives the same token sequence; different keys differ", () => {
    const draw = (seed: number) =>
      mx.scope(() => {
        const lp = logprobsOf(mx.array(logits, [1, V]));
        let key = mx.random.key(seed);
        const out: number[] = [];
        for (let i = 0; i < 32; i++) {
          const [next, sub] = mx.random.splitKeys(key);
          key = next;
          out.push(sample(lp, { ...GREEDY, temperature: 1.0, topK: 20 }, sub).item());
        }
        return out;
      });
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });
});
