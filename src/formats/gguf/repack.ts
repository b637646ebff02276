// ggml tensor data → MLX arrays' host bytes. The 32-element blocks of Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 and the
// 32-element sub-blocks of Q4_K/Q5_K map one to one onto MLX affine quantization with group 32: the
// quantized integers are kept and each group's scale and bias are computed (w = scale·q + bias). Scales and
// biases are stored as float32, in which d·sc and dmin·m (an f16 times a 6-bit integer) are exact, so the
// repacked weight dequantizes to exactly ggml's values. Q2_K, Q3_K and Q6_K (16-element sub-blocks, which MLX
// groups cannot express) are dequantized to float32 here, a block of rows at a time, and requantized by MLX
// (group 32) by the loader: a whole float32 copy of a large tensor (Gemma 3's 262,144-row embedding: 671 MB) never
// exists.
// Block layouts and element order follow ggml-quants.c dequantize_row_*.
import { GgufError, ggmlTypeName, type GgufTensorInfo } from "./file.ts";
import { dequantMxfp4, repackMxfp4, type Mxfp4Repacked } from "./mxfp4.ts";

export type Repacked =
  | { kind: "float"; dtype: "float32" | "float16" | "bfloat16"; bytes: Uint8Array; shape: number[] }
  | { kind: "affine"; bits: number; groupSize: 32; weight: Uint32Array; scales: Float32Array; biases: Float32Array; shape: number[] }
  | {
      kind: "requantize";
      bits: number;
      groupSize: 32;
      /** rows (all leading dimensions) × cols, the last dimension */
      rows: number;
      cols: number;
      /** the float values of rows [r0, r1), written into `out` when given (it must hold them) */
      values: (r0: number, r1: number, out?: Float32Array) => Float32Array;
      shape: number[];
    }
  | Mxfp4Repacked;

const f16 = new Float32Array(65536);
for (let h = 0; h < 65536; h++) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  f16[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
}
const halfAt = (b: Uint8Array, o: number) => f16[b[o]! | (b[o + 1]! << 8)]!;

/** Packs `bits`-bit integers LSB-first into a little-endian bit stream of uint32 words, as MLX does. */
function packInto(words: Uint32Array, wordOffset: number, q: Uint8Array, bits: number): void {
  let acc = 0;
  let nacc = 0;
  let w = wordOffset;
  for (let i = 0; i < q.length; i++) {
    acc += q[i]! * 2 ** nacc;
    nacc += bits;
    if (nacc >= 32) {
      words[w++] = acc % 4294967296;
      acc = Math.floor(acc / 4294967296);
      nacc -= 32;
    }
  }
  if (nacc > 0) words[w] = acc;
}

/** Calls `emit` for each 32-element group of a block, in element order: its integers, scale and bias. */
type BlockDecoder = (b: Uint8Array, o: number, emit: (q: Uint8Array, scale: number, bias: number) => void) => void;

const q32 = new Uint8Array(32);

const DECODERS: Record<string, { bits: number; block: number; bytes: number; decode: BlockDecoder }> = {
  Q4_0: {
    bits: 4, block: 32, bytes: 18,
    decode: (b, o, emit) => {
      const d = halfAt(b, o);
      for (let j = 0; j < 16; j++) {
        q32[j] = b[o + 2 + j]! & 0x0f;
        q32[j + 16] = b[o + 2 + j]! >> 4;
      }
      emit(q32, d, -8 * d);
    },
  },
  Q4_1: {
    bits: 4, block: 32, bytes: 20,
    decode: (b, o, emit) => {
      for (let j = 0; j < 16; j++) {
        q32[j] = b[o + 4 + j]! & 0x0f;
        q32[j + 16] = b[o + 4 + j]! >> 4;
      }
      emit(q32, halfAt(b, o), halfAt(b, o + 2));
    },
  },
  Q5_0: {
    bits: 5, block: 32, bytes: 22,
    decode: (b, o, emit) => {
      const d = halfAt(b, o);
      const qh = (b[o + 2]! | (b[o + 3]! << 8) | (b[o + 4]! << 16) | (b[o + 5]! << 24)) >>> 0;
      for (let j = 0; j < 16; j++) {
        q32[j] = (b[o + 6 + j]! & 0x0f) | (((qh >>> j) << 4) & 0x10);
        q32[j + 16] = (b[o + 6 + j]! >> 4) | ((qh >>> (j + 12)) & 0x10);
      }
      emit(q32, d, -16 * d);
    },
  },
  Q5_1: {
    bits: 5, block: 32, bytes: 24,
    decode: (b, o, emit) => {
      const qh = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24)) >>> 0;
      for (let j = 0; j < 16; j++) {
        q32[j] = (b[o + 8 + j]! & 0x0f) | (((qh >>> j) << 4) & 0x10);
        q32[j + 16] = (b[o + 8 + j]! >> 4) | ((qh >>> (j + 12)) & 0x10);
      }
      emit(q32, halfAt(b, o), halfAt(b, o + 2));
    },
  },
  Q8_0: {
    bits: 8, block: 32, bytes: 34,
    decode: (b, o, emit) => {
      const d = halfAt(b, o);
      // int8 → uint8 by adding 128; the bias takes it back
      for (let j = 0; j < 32; j++) q32[j] = (b[o + 2 + j]! ^ 0x80) & 0xff;
      emit(q32, d, -128 * d);
    },
  },
  Q4_K: {
    bits: 4, block: 256, bytes: 144,
    decode: (b, o, emit) => {
      const d = halfAt(b, o);
      const dmin = halfAt(b, o + 2);
      const sc = o + 4;
      let qs = o + 16;
      for (let is = 0; is < 8; is += 2) {
        const [s1, m1] = scaleMinK4(is, b, sc);
        const [s2, m2] = scaleMinK4(is + 1, b, sc);
        for (let l = 0; l < 32; l++) q32[l] = b[qs + l]! & 0x0f;
        emit(q32, d * s1, -dmin * m1);
        for (let l = 0; l < 32; l++) q32[l] = b[qs + l]! >> 4;
        emit(q32, d * s2, -dmin * m2);
        qs += 32;
      }
    },
  },
  Q5_K: {
    bits: 5, block: 256, bytes: 176,
    decode: (b, o, emit) => {
      const d = halfAt(b, o);
      const dmin = halfAt(b, o + 2);
      const sc = o + 4;
      const qh = o + 16;
      let ql = o + 48;
      let u1 = 1;
      let u2 = 2;
      for (let is = 0; is < 8; is += 2) {
        const [s1, m1] = scaleMinK4(is, b, sc);
        const [s2, m2] = scaleMinK4(is + 1, b, sc);
        for (let l = 0; l < 32; l++) q32[l] = (b[ql + l]! & 0x0f) + (b[qh + l]! & u1 ? 16 : 0);
        emit(q32, d * s1, -dmin * m1);
        for (let l = 0; l < 32; l++) q32[l] = (b[ql + l]! >> 4) + (b[qh + l]! & u2 ? 16 : 0);
        emit(q32, d * s2, -dmin * m2);
        ql += 32;
        u1 <<= 2;
        u2 <<= 2;
      }
    },
  },
};

/** ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j packed in 12 bytes. */
function scaleMinK4(j: number, b: Uint8Array, o: number): [number, number] {
  if (j < 4) return [b[o + j]! & 63, b[o + j + 4]! & 63];
  return [(b[o + j + 4]! & 0x0f) | ((b[o + j - 4]! >> 6) << 4), (b[o + j + 4]! >> 4) | ((b[o + j]! >> 6) << 4)];
}

/** Q6_K → float32 (ggml's dequantize_row_q6_K). */
function dequantQ6K(b: Uint8Array, nBlocks: number, y: Float32Array = new Float32Array(nBlocks * 256)): Float32Array {
  const i8 = (v: number) => (v > 127 ? v - 256 : v);
  for (let blk = 0; blk < nBlocks; blk++) {
    const o = blk * 210;
    const d = halfAt(b, o + 208);
    let ql = o;
    let qh = o + 128;
    let sc = o + 192;
    let yo = blk * 256;
    for (let n = 0; n < 256; n += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q1 = ((b[ql + l]! & 0xf) | (((b[qh + l]! >> 0) & 3) << 4)) - 32;
        const q2 = ((b[ql + l + 32]! & 0xf) | (((b[qh + l]! >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l]! >> 4) | (((b[qh + l]! >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + l + 32]! >> 4) | (((b[qh + l]! >> 6) & 3) << 4)) - 32;
        y[yo + l] = d * i8(b[sc + is]!) * q1;
        y[yo + l + 32] = d * i8(b[sc + is + 2]!) * q2;
        y[yo + l + 64] = d * i8(b[sc + is + 4]!) * q3;
        y[yo + l + 96] = d * i8(b[sc + is + 6]!) * q4;
      }
      yo += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
  return y;
}

/** Q2_K → float32 (ggml's dequantize_row_q2_K): 16 sub-blocks of 16, 2-bit values, 4-bit scales and mins. */
function dequantQ2K(b: Uint8Array, nBlocks: number, y: Float32Array = new Float32Array(nBlocks * 256)): Float32Array {
  for (let blk = 0; blk < nBlocks; blk++) {
    const o = blk * 84;
    const d = halfAt(b, o + 80);
    const dmin = halfAt(b, o + 82);
    let q = o + 16;
    let is = 0;
    let yo = blk * 256;
    for (let n = 0; n < 256; n += 128) {
      let shift = 0;
      for (let j = 0; j < 4; j++) {
        for (const half of [0, 16]) {
          const sc = b[o + is++]!;
          const dl = d * (sc & 0xf);
          const ml = dmin * (sc >> 4);
          for (let l = 0; l < 16; l++) y[yo++] = dl * ((b[q + l + half]! >> shift) & 3) - ml;
        }
        shift += 2;
      }
      q += 32;
    }
  }
  return y;
}

/** ggml's kvalues_iq4nl: the 16 non-uniform levels of IQ4_NL and IQ4_XS. */
const IQ4_LEVELS = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** IQ4_NL → float32 (ggml's dequantize_row_iq4_nl): blocks of 32, d · level[q], element j low nibble of byte j, j + 16 high. */
function dequantIQ4NL(b: Uint8Array, nBlocks: number, y: Float32Array = new Float32Array(nBlocks * 32)): Float32Array {
  for (let blk = 0; blk < nBlocks; blk++) {
    const o = blk * 18;
    const d = halfAt(b, o);
    const yo = blk * 32;
    for (let j = 0; j < 16; j++) {
      y[yo + j] = d * IQ4_LEVELS[b[o + 2 + j]! & 0x0f]!;
      y[yo + j + 16] = d * IQ4_LEVELS[b[o + 2 + j]! >> 4]!;
    }
  }
  return y;
}

/** IQ4_XS → float32 (ggml's dequantize_row_iq4_xs): super-blocks of 256, 8 sub-blocks of 32 with 6-bit scales (ls − 32). */
function dequantIQ4XS(b: Uint8Array, nBlocks: number, y: Float32Array = new Float32Array(nBlocks * 256)): Float32Array {
  for (let blk = 0; blk < nBlocks; blk++) {
    const o = blk * 136;
    const d = halfAt(b, o);
    const scalesH = b[o + 2]! | (b[o + 3]! << 8);
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((b[o + 4 + (ib >> 1)]! >> (4 * (ib % 2))) & 0x0f) | (((scalesH >> (2 * ib)) & 3) << 4);
      const dl = d * (ls - 32);
      const qs = o + 8 + 16 * ib;
      const yo = blk * 256 + 32 * ib;
      for (let j = 0; j < 16; j++) {
        y[yo + j] = dl * IQ4_LEVELS[b[qs + j]! & 0x0f]!;
        y[yo + j + 16] = dl * IQ4_LEVELS[b[qs + j]! >> 4]!;
      }
    }
  }
  return y;
}

/** Q3_K → float32 (ggml's dequantize_row_q3_K): 16 sub-blocks of 16, 3-bit values (high bit in hmask), 6-bit scales. */
function dequantQ3K(b: Uint8Array, nBlocks: number, y: Float32Array = new Float32Array(nBlocks * 256)): Float32Array {
  const aux = new Uint32Array(4);
  const scales = new Int8Array(aux.buffer);
  const k1 = 0x03030303;
  const k2 = 0x0f0f0f0f;
  for (let blk = 0; blk < nBlocks; blk++) {
    const o = blk * 110;
    const d = halfAt(b, o + 108);
    const sc = o + 96;
    for (let i = 0; i < 3; i++) aux[i] = (b[sc + 4 * i]! | (b[sc + 4 * i + 1]! << 8) | (b[sc + 4 * i + 2]! << 16) | (b[sc + 4 * i + 3]! << 24)) >>> 0;
    const tmp = aux[2]!;
    aux[2] = ((aux[0]! >>> 4) & k2) | (((tmp >>> 4) & k1) << 4);
    aux[3] = ((aux[1]! >>> 4) & k2) | (((tmp >>> 6) & k1) << 4);
    aux[0] = (aux[0]! & k2) | (((tmp >>> 0) & k1) << 4);
    aux[1] = (aux[1]! & k2) | (((tmp >>> 2) & k1) << 4);
    let q = o + 32;
    let is = 0;
    let m = 1;
    let yo = blk * 256;
    for (let n = 0; n < 256; n += 128) {
      let shift = 0;
      for (let j = 0; j < 4; j++) {
        for (const half of [0, 16]) {
          const dl = d * (scales[is++]! - 32);
          for (let l = 0; l < 16; l++) y[yo++] = dl * (((b[q + l + half]! >> shift) & 3) - (b[o + l + half]! & m ? 0 : 4));
        }
        shift += 2;
        m <<= 1;
      }
      q += 32;
    }
  }
  return y;
}

/** MLX shape of a ggml tensor: ggml lists dims fastest first, MLX is row-major. */
export function mlxShape(t: GgufTensorInfo): number[] {
  return [...t.dims].reverse();
}

/** A native writer of the same bytes for some types (ffi's ggufRepack); false where it does not cover the type. */
export type NativeRepack = (type: number, src: Uint8Array, wq: Uint8Array, scales: Float32Array, biases: Float32Array) => boolean;

export function repack(t: GgufTensorInfo, bytes: Uint8Array, native?: NativeRepack): Repacked {
  const type = ggmlTypeName(t.type);
  const shape = mlxShape(t);
  switch (type) {
    case "F32":
      return { kind: "float", dtype: "float32", bytes, shape };
    case "F16":
      return { kind: "float", dtype: "float16", bytes, shape };
    case "BF16":
      return { kind: "float", dtype: "bfloat16", bytes, shape };
    // 16-element sub-blocks: MLX groups cannot express them, so MLX requantizes the float values.
    // Q6_K goes to 8 bits (finer than its 6); Q2_K and Q3_K to 4 bits (finer than their 2 and 3).
    case "Q6_K":
      return requantize(t, bytes, shape, 8, 210, dequantQ6K);
    case "Q3_K":
      return requantize(t, bytes, shape, 4, 110, dequantQ3K);
    case "Q2_K":
      return requantize(t, bytes, shape, 4, 84, dequantQ2K);
    // IQ4's 16 levels are not evenly spaced: a 4-bit affine grid over the same range adds ~7 % RMS error (measured),
    // so MLX requantizes them to 8 bits (0.4 %), as Q6_K
    case "IQ4_NL":
      return requantize(t, bytes, shape, 8, 18, dequantIQ4NL, 32);
    case "IQ4_XS":
      return requantize(t, bytes, shape, 8, 136, dequantIQ4XS);
    // gpt-oss's experts: MLX's mxfp4 mode holds the same codes and scales (gguf/mxfp4.ts)
    case "MXFP4":
      return repackMxfp4(t, bytes, shape);
  }
  const dec = DECODERS[type];
  if (!dec) throw new GgufError(`tensor ${t.name} has type ${type}, which ollmlx cannot load`);
  const cols = t.dims[0]!;
  if (cols % dec.block !== 0) throw new GgufError(`tensor ${t.name}: row length ${cols} is not a multiple of the ${type} block (${dec.block})`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  const groups = count / 32;
  const weight = new Uint32Array((count * dec.bits) / 32);
  const scales = new Float32Array(groups);
  const biases = new Float32Array(groups);
  if (native?.(t.type, bytes, new Uint8Array(weight.buffer), scales, biases)) {
    return { kind: "affine", bits: dec.bits, groupSize: 32, weight, scales, biases, shape };
  }
  const wordsPerGroup = dec.bits; // 32 elements × bits / 32
  // MLX's uint32 words are little-endian (as every host it runs on): 4- and 8-bit integers are written as the bytes
  // they make, which is several times faster than packing words in floating-point arithmetic (packInto).
  const wordBytes = new Uint8Array(weight.buffer);
  let g = 0;
  const emit =
    dec.bits === 4
      ? (q: Uint8Array, scale: number, bias: number) => {
          const base = g * 16;
          for (let j = 0; j < 16; j++) wordBytes[base + j] = q[2 * j]! | (q[2 * j + 1]! << 4);
          scales[g] = scale;
          biases[g++] = bias;
        }
      : dec.bits === 8
        ? (q: Uint8Array, scale: number, bias: number) => {
            // a loop, not set(): set()'s fixed cost a call was most of Gemma 3's 262,144 × 640 Q8_0 table
            const base = g * 32;
            for (let j = 0; j < 32; j++) wordBytes[base + j] = q[j]!;
            scales[g] = scale;
            biases[g++] = bias;
          }
        : (q: Uint8Array, scale: number, bias: number) => {
            packInto(weight, g * wordsPerGroup, q, dec.bits);
            scales[g] = scale;
            biases[g++] = bias;
          };
  for (let o = 0; o < bytes.length; o += dec.bytes) dec.decode(bytes, o, emit);
  return { kind: "affine", bits: dec.bits, groupSize: 32, weight, scales, biases, shape };
}

/** A type MLX's groups cannot express, dequantized on demand a range of rows at a time (its rows are whole blocks). */
function requantize(
  t: GgufTensorInfo,
  bytes: Uint8Array,
  shape: number[],
  bits: number,
  blockBytes: number,
  dequant: (b: Uint8Array, nBlocks: number, out?: Float32Array) => Float32Array,
  block = 256,
): Repacked {
  const cols = shape[shape.length - 1]!;
  if (cols % block !== 0) throw new GgufError(`tensor ${t.name}: row length ${cols} is not a multiple of the ${block}-element block`);
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const rowBytes = (cols / block) * blockBytes;
  if (bytes.length !== rows * rowBytes) throw new GgufError(`tensor ${t.name}: ${bytes.length} bytes, expected ${rows * rowBytes}`);
  const values = (r0: number, r1: number, out?: Float32Array) =>
    dequant(bytes.subarray(r0 * rowBytes, r1 * rowBytes), ((r1 - r0) * rowBytes) / blockBytes, out?.subarray(0, (r1 - r0) * cols));
  return { kind: "requantize", bits, groupSize: 32, rows, cols, values, shape };
}

/** The float values of a ggml tensor per ggml's own formulas (the reference the repack is tested against). */
export function dequantize(t: GgufTensorInfo, bytes: Uint8Array): Float32Array {
  const r = repack(t, bytes);
  if (r.kind === "mxfp4") return dequantMxfp4(bytes);
  if (r.kind === "requantize") return r.values(0, r.rows);
  if (r.kind === "float") {
    if (r.dtype === "float32") return new Float32Array(r.bytes.slice().buffer);
    const h = new Uint16Array(r.bytes.slice().buffer);
    return Float32Array.from(h, (x) => (r.dtype === "float16" ? f16[x]! : new Float32Array(new Uint32Array([x << 16]).buffer)[0]!));
  }
  const out = new Float32Array(r.scales.length * 32);
  for (let g = 0; g < r.scales.length; g++) {
    for (let i = 0; i < 32; i++) {
      const bit = (g * 32 + i) * r.bits;
      const w = Math.floor(bit / 32);
      const sh = bit % 32;
      let q = r.weight[w]! >>> sh;
      if (sh + r.bits > 32) q |= r.weight[w + 1]! << (32 - sh);
      q &= (1 << r.bits) - 1;
      out[g * 32 + i] = r.scales[g]! * q + r.biases[g]!;
    }
  }
  return out;
}

/** q values of `bits` bits, packed LSB-first into little-endian uint32 words (MLX's layout), as 8-bit words. */
export function widenTo8Bits(packed: Uint8Array, bits: number): Uint8Array {
  const words = new Uint32Array(packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength));
  const count = (words.length * 32) / bits;
  const out = new Uint8Array(count);
  const mask = (1 << bits) - 1;
  for (let i = 0, p = 0; i < count; i++, p += bits) {
    const word = p >>> 5;
    const off = p & 31;
    let v = words[word]! >>> off;
    if (off + bits > 32) v |= words[word + 1]! << (32 - off);
    out[i] = v & mask;
  }
  return out;
}
