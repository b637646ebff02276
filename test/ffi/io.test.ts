import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import * as mx from "../../src/ffi/index.ts";
import { randomF32 } from "./reference.ts";

const dir = mkdtempSync(join(tmpdir(), "ollmlx-ffi-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Raw bytes with every byte value, so bit patterns (NaN payloads, subnormals, negative zero) are covered.
function bytesFor(dtype: mx.Dtype, n: number): Uint8Array {
  const out = new Uint8Array(n * mx.itemsize(dtype));
  for (let i = 0; i < out.length; i++) out[i] = (i * 37 + 11) & 0xff;
  if (dtype === "bool") for (let i = 0; i < out.length; i++) out[i] = out[i]! & 1;
  return out;
}

// safetensors has no float64 and MLX writes complex64 as C64; every other dtype has a code.
const SAFETENSORS_DTYPES: mx.Dtype[] = [
  "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float16", "float32", "bfloat16", "complex64",
];

describe("host bytes", () => {
  test("bfloat16 and float16 bit patterns survive fromBytes → toBytes unchanged", () => {
    for (const dtype of ["bfloat16", "float16"] as const) {
      const bits = Uint16Array.from({ length: 64 }, (_, i) => (i * 1031 + 7) & 0xffff);
      using a = mx.array(bits, [8, 8], dtype);
      expect(a.dtype).toBe(dtype);
      expect(Array.from(new Uint16Array(a.toBytes().buffer))).toEqual(Array.from(bits));
    }
  });

  test("a bfloat16 array converts to the float32 values its bits encode", () => {
    // 0x3f80 = 1.0, 0xc000 = -2.0, 0x4049 = 3.140625
    using a = mx.array(Uint16Array.of(0x3f80, 0xc000, 0x4049), [3], "bfloat16");
    expect(Array.from(a.toFloat32())).toEqual([1, -2, 3.140625]);
  });

  test("toBytes of a transposed (non-contiguous) array is row-major", () => {
    const t = mx.scope(() => mx.transpose(mx.reshape(mx.arange(6), [2, 3])));
    expect(Array.from(new Int32Array(t.toBytes().buffer))).toEqual([0, 3, 1, 4, 2, 5]);
  });

  test("item reads every dtype, including int64 and bfloat16", () => {
    for (const [dtype, v] of [["int64", -5], ["uint64", 7], ["bfloat16", 1.5], ["float16", -0.25], ["bool", 1], ["float64", 1 / 3]] as const) {
      using s = mx.scalar(v, dtype);
      expect(s.item()).toBe(v);
    }
  });
});

describe("safetensors", () => {
  test("every dtype safetensors supports round-trips bit for bit with names and metadata", () => {
    const path = join(dir, "all.safetensors");
    const tensors: Record<string, mx.MxArray> = {};
    for (const dtype of SAFETENSORS_DTYPES) tensors[`model.${dtype}.weight`] = mx.fromBytes(bytesFor(dtype, 6), [2, 3], dtype);
    const metadata = { format: "mlx", "quote\"and\\slash": "line\nbreak \u00e9\u4e2d", empty: "" };
    mx.saveSafetensors(path, tensors, metadata);

    using file = mx.openSafetensors(path);
    expect([...file.names].sort()).toEqual(Object.keys(tensors).sort());
    expect(file.metadata).toEqual(metadata);
    for (const dtype of SAFETENSORS_DTYPES) {
      using back = file.get(`model.${dtype}.weight`);
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual([2, 3]);
      expect(Array.from(back.toBytes())).toEqual(Array.from(bytesFor(dtype, 6)));
    }
    for (const a of Object.values(tensors)) a.free();
  });

  test("loadSafetensors returns a map of lazy tensors that evaluate to the saved values", () => {
    const path = join(dir, "map.safetensors");
    const w = randomF32(12, 3);
    using a = mx.array(w, [3, 4]);
    mx.saveSafetensors(path, new Map([["w", a]]));
    const { tensors, metadata } = mx.loadSafetensors(path);
    expect(metadata).toEqual({});
    expect(Array.from(tensors.get("w")!.toFloat32())).toEqual(Array.from(w));
    for (const t of tensors.values()) t.free();
  });

  test("a missing file and a missing tensor name throw MlxError", () => {
    expect(() => mx.openSafetensors(join(dir, "nope.safetensors"))).toThrow(mx.MlxError);
    const path = join(dir, "one.safetensors");
    using a = mx.zeros([1]);
    mx.saveSafetensors(path, { a });
    using file = mx.openSafetensors(path);
    expect(() => file.get("b")).toThrow(/no tensor named "b"/);
  });

  test("float64 cannot be written to safetensors (MLX refuses it)", () => {
    using a = mx.zeros([2], "float64");
    expect(() => mx.saveSafetensors(join(dir, "f64.safetensors"), { a })).toThrow(mx.MlxError);
  });
});
