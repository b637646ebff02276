// mlx.random with explicit keys; without a key, the thread's global key sequence (see random.seed).
import { MxArray, wrap } from "./array.ts";
import { shapeArg } from "./creation.ts";
import { type Dtype, dtypeCode } from "./dtype.ts";
import { checkStatus } from "./errors.ts";
import { sym } from "./lib.ts";
import { reshape, split } from "./shape.ts";

export interface RandomOptions {
  dtype?: Dtype;
  key?: MxArray | null;
}

export const random = {
  /** A PRNG key (uint32, shape [2]) from a seed. */
  key(seed: number): MxArray {
    return wrap(sym.mlxs_random_key(seed), "random.key");
  },
  /** `num` new keys, shape [num, 2]. */
  split(key: MxArray, num = 2): MxArray {
    return wrap(sym.mlxs_random_split(key.handle, num), "random.split");
  },
  /** A key split in two, as mx.random.split(key) in Python. */
  splitKeys(key: MxArray): [MxArray, MxArray] {
    using keys = wrap(sym.mlxs_random_split(key.handle, 2), "random.split");
    const [a, b] = split(keys, 2, 0);
    try {
      return [reshape(a!, [2]), reshape(b!, [2])];
    } finally {
      a!.free();
      b!.free();
    }
  },
  /** Seeds this thread's global key sequence. */
  seed(seed: number): void {
    checkStatus(sym.mlxs_random_seed(seed), "random.seed");
  },
  /** Samples indices from unnormalized log-probabilities along axis. */
  categorical(logits: MxArray, { axis = -1, key }: { axis?: number; key?: MxArray | null } = {}): MxArray {
    return wrap(sym.mlxs_random_categorical(logits.handle, axis, key?.handle ?? 0), "random.categorical");
  },
  uniform(shape: readonly number[], { low = 0, high = 1, dtype = "float32", key }: RandomOptions & { low?: number; high?: number } = {}): MxArray {
    const sh = shapeArg(shape);
    return wrap(sym.mlxs_random_uniform(sh, sh.length, low, high, dtypeCode(dtype), key?.handle ?? 0), "random.uniform");
  },
  normal(shape: readonly number[], { loc = 0, scale = 1, dtype = "float32", key }: RandomOptions & { loc?: number; scale?: number } = {}): MxArray {
    const sh = shapeArg(shape);
    return wrap(sym.mlxs_random_normal(sh, sh.length, loc, scale, dtypeCode(dtype), key?.handle ?? 0), "random.normal");
  },
  gumbel(shape: readonly number[], { dtype = "float32", key }: RandomOptions = {}): MxArray {
    const sh = shapeArg(shape);
    return wrap(sym.mlxs_random_gumbel(sh, sh.length, dtypeCode(dtype), key?.handle ?? 0), "random.gumbel");
  },
  /** Integers in [low, high). */
  randint(low: number, high: number, shape: readonly number[], { dtype = "int32", key }: RandomOptions = {}): MxArray {
    const sh = shapeArg(shape);
    return wrap(sym.mlxs_random_randint(sh, sh.length, low, high, dtypeCode(dtype), key?.handle ?? 0), "random.randint");
  },
};
