#!/usr/bin/env bun
// The CPU quantized-linear kernels alone (the QLinear primitive), at the decode shapes of SmolLM2-135M:
// µs per call and GMAC/s for 1, 4 and 8 rows of x, and each batch's time against one row's.
//   bun bench/kernels.ts [--reps 40] [--kernels best|baseline|avx2|avx512|avx512_vnni|avx2_int8] [--group 32] [--threads N]
//                        [--rows 1,4,8] [--gemm auto|never|always] [--activations float|int8]
// On a busy 2-core machine --threads 1 is the steadier figure: a pool's barrier waits for the other core.
import { parseArgs } from "node:util";
import { cpuKernels, evaluate, quantize, quantizedMatmul, random, scope } from "../src/ffi/index.ts";
import { reexecWithRunnerBlas } from "./lib/blas.ts";

reexecWithRunnerBlas();
const { values } = parseArgs({ options: { reps: { type: "string", default: "40" }, kernels: { type: "string", default: "best" }, group: { type: "string", default: "32" }, threads: { type: "string", default: "0" }, rows: { type: "string", default: "1,4,8" }, gemm: { type: "string", default: "auto" }, activations: { type: "string", default: "float" } } });
const reps = Number(values.reps);
const gs = Number(values.group);
console.log("kernels:", cpuKernels({ use: values.kernels as "best", threads: Number(values.threads), gemm: values.gemm as "auto", activations: values.activations as "float" }), "threads:", values.threads === "0" ? "all" : values.threads);
// [name, N, K, bits]
const shapes: [string, number, number, number][] = [
  ["q/o 576x576", 576, 576, 4], ["k/v 192x576", 192, 576, 4], ["gate/up 1536x576", 1536, 576, 4],
  ["down 576x1536", 576, 1536, 4], ["head 49152x576 (8-bit)", 49152, 576, 8],
];
const rows = values.rows!.split(",").map(Number);
for (const [name, N, K, bits] of shapes) {
  const line: string[] = [];
  let one = 0;
  for (const M of rows) {
    const us = scope(() => {
      const w = random.normal([N, K]);
      const q = quantize(w, { groupSize: gs, bits });
      const x = random.normal([M, K]);
      evaluate(q.wq, q.scales, q.biases!, x);
      const n = Math.max(2, Math.round((reps / 5) * (bits === 8 ? 0.05 : 1)));
      for (let i = 0; i < 3; i++) evaluate(quantizedMatmul(x, q.wq, q.scales, q.biases, { groupSize: gs, bits }));
      // 16 calls a graph, evaluated together: the per-eval cost of the FFI and the graph is spread over them.
      // The best of 5 blocks: this VM's neighbours slow some blocks down, never one up.
      let best = Infinity;
      for (let block = 0; block < 5; block++) {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) scope(() => evaluate(...Array.from({ length: 16 }, () => quantizedMatmul(x, q.wq, q.scales, q.biases, { groupSize: gs, bits }))));
        best = Math.min(best, ((performance.now() - t0) * 1000) / n / 16);
      }
      return best;
    });
    if (M === 1) one = us;
    line.push(`M=${M}: ${us.toFixed(1)} µs ${((M * N * K) / us / 1000).toFixed(1)} GMAC/s${M > 1 ? ` (${(us / one).toFixed(2)}×)` : ""}`);
  }
  console.log(`${name.padEnd(24)} ${line.join("  ")}`);
}
