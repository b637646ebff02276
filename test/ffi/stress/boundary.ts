// The FFI boundary hammered in one process, run as a child by boundary.test.ts (so that a crash is an exit by
// signal the test can see, not the death of the test runner):
//
//   bun test/ffi/stress/boundary.ts [rounds]    prints one JSON line: rounds, ops, live handles before/after
//
// 1. Out-parameters after JIT tier-up. Hot getters (shape, item) are called until the JIT has compiled them,
//    then the garbage collector is forced and the JS heap refilled with objects whose storage comes from the
//    same allocator as small typed arrays, and the getters are called again. If the shim wrote through a
//    pointer the JIT had made stale (oven-sh/bun#32054: a typed array under 1000 bytes moves when a function
//    using it is compiled), it would overwrite those objects and the next collection would crash. That is how
//    the test suite crashed with "Segmentation fault at address 0xD0" (issue 20).
// 2. Arrays made from JS bytes, sliced, reshaped, evaluated, read back (shape, item, bytes, quantize and split
//    out-parameters) and freed inside scopes, thousands of times, with the collector forced between rounds;
//    every value read back is checked, and the live handle count must end where it began.
import * as mx from "../../../src/ffi/index.ts";

const rounds = Number(process.argv[2] ?? 2000);
const live0 = mx.liveCount();
let ops = 0;

function fail(msg: string): never {
  console.error(`boundary stress: ${msg}`);
  process.exit(1);
}

// GC-heap storage in the size classes of small typed arrays: arrays of a few dozen objects.
const refill = (n: number): { i: number }[][] => Array.from({ length: n }, () => Array.from({ length: 28 }, (_, i) => ({ i })));
const checksum = (heap: { i: number }[][]): number => heap.reduce((s, arr) => s + arr.reduce((t, o) => t + o.i, 0), 0);

function outParamsAfterTierUp(): void {
  using wide = mx.zeros([7, 7, 7, 7, 7, 7, 7, 7]);
  using one = mx.scope(() => mx.sum(mx.ones([3])));
  for (let i = 0; i < 100_000; i++) {
    if (wide.shape.length !== 8) fail("shape lost dimensions while warming up");
    if (i % 100 === 0 && one.item() !== 3) fail("item read back wrong while warming up");
  }
  for (let round = 0; round < 200; round++) {
    Bun.gc(true);
    const heap = refill(1000);
    const want = checksum(heap);
    const shape = wide.shape;
    if (shape.some((d) => d !== 7)) fail(`shape read back [${shape}] after tier-up`);
    if (one.item() !== 3) fail("item read back wrong after tier-up");
    Bun.gc(true);
    if (checksum(heap) !== want) fail(`JS objects changed under an FFI call (round ${round})`);
    ops += 2;
  }
}

function churn(): void {
  let junk: unknown[] = [];
  for (let r = 0; r < rounds; r++) {
    const n = 2 + (r % 13);
    mx.scope(() => {
      const data = new Float32Array(n * 8).map((_, i) => i + r);
      const a = mx.array(data, [n, 8]);
      const s = mx.slice(a, [1, 0], [n, 8]);
      const t = mx.reshape(mx.transpose(s), [8, n - 1]);
      const sh = t.shape;
      if (sh[0] !== 8 || sh[1] !== n - 1) fail(`round ${r}: shape [${sh}] for [8, ${n - 1}]`);
      const total = mx.sum(t).item();
      let want = 0;
      for (let i = 8; i < n * 8; i++) want += i + r;
      if (Math.abs(total - want) > 1e-3 * want) fail(`round ${r}: sum ${total}, want ${want}`);
      const back = t.toFloat32();
      if (back.length !== 8 * (n - 1) || back[0] !== 8 + r) fail(`round ${r}: bytes read back wrong (${back[0]})`);
      const parts = mx.split(mx.arange(12), 3);
      if (parts.length !== 3 || mx.sum(parts[2]!).item() !== 38) fail(`round ${r}: split gave ${parts.length} parts`);
      if (r % 16 === 0) {
        const q = mx.quantize(mx.ones([4, 64]), { groupSize: 64, bits: 4 });
        const shape = q.wq.shape;
        if (shape[0] !== 4 || shape[1] !== 8 || !q.biases) fail(`round ${r}: quantize out-params [${shape}]`);
      }
      mx.eval(t);
      ops += 12;
    });
    junk.push(new Float64Array(1 + (r % 7)), new Int32Array(r % 64), refill(1));
    if (r % 50 === 0) {
      junk = [];
      Bun.gc(r % 200 === 0);
    }
  }
}

outParamsAfterTierUp();
churn();
const live1 = mx.liveCount();
console.log(JSON.stringify({ rounds, ops, live0, live1 }));
if (live1 !== live0) fail(`${live1 - live0} handles leaked`);
