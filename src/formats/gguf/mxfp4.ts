// GGUF MXFP4 (ggml type 39) → MLX's mxfp4 quantization, without touching a value. A ggml block_mxfp4 is one E8M0
// scale byte then 16 bytes of 4-bit E2M1 codes: element j of the 32 in the low nibble of byte j, element j + 16 in
// its high nibble (ggml-quants.c dequantize_row_mxfp4). ggml's table holds the E2M1 values doubled with the scale
// halved (2^(e-128)), which is the same number as E2M1 · 2^(e-127): MLX's mxfp4 mode (group 32, uint8 E8M0 scales,
// codes packed LSB-first into uint32 words, element i in nibble i). So each block keeps its codes and its scale
// byte; only the nibbles move.
import type { GgufTensorInfo } from "./file.ts";
import { GgufError } from "./file.ts";

const BLOCK = 32;
const BLOCK_BYTES = 17;

export interface Mxfp4Repacked {
  kind: "mxfp4";
  /** (…rows, cols / 8) packed codes */
  weight: Uint32Array;
  /** (…rows, cols / 32) E8M0 exponents */
  scales: Uint8Array;
  shape: number[];
}

export function repackMxfp4(t: GgufTensorInfo, bytes: Uint8Array, shape: number[]): Mxfp4Repacked {
  const cols = t.dims[0]!;
  if (cols % BLOCK !== 0) throw new GgufError(`tensor ${t.name}: row length ${cols} is not a multiple of the MXFP4 block (32)`);
  const blocks = bytes.length / BLOCK_BYTES;
  const weight = new Uint32Array(blocks * 4);
  const out = new Uint8Array(weight.buffer); // MLX's words are little-endian: byte k holds elements 2k and 2k+1
  const scales = new Uint8Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const o = b * BLOCK_BYTES;
    scales[b] = bytes[o]!;
    const qs = o + 1;
    const w = b * 16;
    // elements 0..15 are the low nibbles of qs[0..15], elements 16..31 the high nibbles
    for (let k = 0; k < 8; k++) {
      out[w + k] = (bytes[qs + 2 * k]! & 0x0f) | ((bytes[qs + 2 * k + 1]! & 0x0f) << 4);
      out[w + 8 + k] = (bytes[qs + 2 * k]! >> 4) | (bytes[qs + 2 * k + 1]! & 0xf0);
    }
  }
  return { kind: "mxfp4", weight, scales, shape };
}

// kvalues_mxfp4: the E2M1 values doubled, as ggml keeps them
const KVALUES = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/** ggml's dequantize_row_mxfp4: kvalues[code] · 2^(e - 128), the float values the repack must keep. */
export function dequantMxfp4(bytes: Uint8Array): Float32Array {
  const blocks = bytes.length / BLOCK_BYTES;
  const y = new Float32Array(blocks * BLOCK);
  for (let b = 0; b < blocks; b++) {
    const o = b * BLOCK_BYTES;
    const d = 2 ** (bytes[o]! - 128);
    for (let j = 0; j < 16; j++) {
      const q = bytes[o + 1 + j]!;
      y[b * BLOCK + j] = KVALUES[q & 0x0f]! * d;
      y[b * BLOCK + j + 16] = KVALUES[q >> 4]! * d;
    }
  }
  return y;
}
