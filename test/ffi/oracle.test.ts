// Same inputs through our shim and through Python mlx of the same version (the oracle); results must agree.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

import * as mx from "../../src/ffi/index.ts";
import { randomF32 } from "./reference.ts";
import { oraclePath } from "../oracle.ts";

const ORACLE = oraclePath();

const SCRIPT = `
import json, sys
import mlx.core as mx
import mlx.nn as nn
inp = json.load(sys.stdin)
x = mx.array(inp["x"], dtype=mx.float32).reshape(inp["xshape"])
freqs = mx.array(inp["freqs"], dtype=mx.float32)
w = mx.array(inp["w"], dtype=mx.float32).reshape(inp["wshape"])
out = {}
out["rope_freqs"] = mx.fast.rope(x, 8, traditional=False, base=None, scale=1.0, offset=5, freqs=freqs).flatten().tolist()
out["rope_trad"] = mx.fast.rope(x, 8, traditional=True, base=10000.0, scale=0.5, offset=2).flatten().tolist()
wq, scales, biases = mx.quantize(w, group_size=32, bits=4)
out["wq"] = wq.flatten().tolist()
out["scales"] = scales.flatten().tolist()
out["biases"] = biases.flatten().tolist()
wb = w.astype(mx.bfloat16)
wq3, s3, b3 = mx.quantize(wb, group_size=64, bits=3)
out["wq3"] = wq3.flatten().tolist()
out["s3"] = s3.astype(mx.float32).flatten().tolist()
out["gelu_approx"] = nn.gelu_approx(x).flatten().tolist()
out["gelu"] = nn.gelu(x).flatten().tolist()
json.dump(out, sys.stdout)
`;

function runOracle(input: unknown): Record<string, number[]> {
  if (!existsSync(resolve(ORACLE, "mlx"))) {
    throw new Error(`the Python oracle is missing at ${ORACLE}: run \`bash scripts/setup.sh --oracle\``);
  }
  const proc = Bun.spawnSync(["python3", "-c", SCRIPT], {
    env: { ...process.env, PYTHONPATH: ORACLE },
    stdin: Buffer.from(JSON.stringify(input)),
  });
  if (proc.exitCode !== 0) throw new Error(`oracle failed: ${proc.stderr.toString()}`);
  return JSON.parse(proc.stdout.toString()) as Record<string, number[]>;
}

test("rope (freqs and traditional), quantize (f32 and bf16) and gelu match Python mlx 0.32.4 exactly", () => {
  const x = randomF32(2 * 3 * 8, 77, 2);
  const freqs = [1.0, 2.5, 30.0, 400.0];
  const w = randomF32(4 * 128, 78, 0.5);
  const py = runOracle({ x: Array.from(x), xshape: [1, 2, 3, 8], freqs, w: Array.from(w), wshape: [4, 128] });

  const ours = mx.scope(() => {
    const xa = mx.array(x, [1, 2, 3, 8]);
    const wa = mx.array(w, [4, 128]);
    const q = mx.quantize(wa, { groupSize: 32, bits: 4 });
    const q3 = mx.quantize(mx.astype(wa, "bfloat16"), { groupSize: 64, bits: 3 });
    return {
      ropeFreqs: mx.rope(xa, { dims: 8, traditional: false, freqs: mx.array(freqs), offset: 5 }),
      ropeTrad: mx.rope(xa, { dims: 8, traditional: true, base: 10000, scale: 0.5, offset: 2 }),
      wq: q.wq, scales: q.scales, biases: q.biases!,
      wq3: q3.wq, s3: q3.scales,
      geluApprox: mx.geluApprox(xa),
    };
  });
  // gelu on MLX's own ops: the shim's CPU primitive computes erf by another approximation, within 2.4e-7
  // (test/ffi/fused.test.ts); its rope above is bit for bit.
  mx.cpuKernels({ use: "mlx" });
  const gelu = mx.scope(() => mx.gelu(mx.array(x, [1, 2, 3, 8])).toFloat32());
  mx.cpuKernels({ use: "best" });
  const u32 = (a: mx.MxArray) => Array.from(new Uint32Array(a.toBytes().buffer));
  expect(Array.from(ours.ropeFreqs.toFloat32())).toEqual(py.rope_freqs!);
  expect(Array.from(ours.ropeTrad.toFloat32())).toEqual(py.rope_trad!);
  expect(u32(ours.wq)).toEqual(py.wq!);
  expect(Array.from(ours.scales.toFloat32())).toEqual(py.scales!);
  expect(Array.from(ours.biases.toFloat32())).toEqual(py.biases!);
  expect(u32(ours.wq3)).toEqual(py.wq3!);
  expect(Array.from(ours.s3.toFloat32())).toEqual(py.s3!);
  expect(Array.from(ours.geluApprox.toFloat32())).toEqual(py.gelu_approx!);
  expect(Array.from(gelu)).toEqual(py.gelu!);
  for (const a of Object.values(ours)) a.free();
});
