// Reading a GGUF file's header (metadata and tensor infos) without loading the file: the header is read in
// growing chunks, tensor data later by byte range. Corrupt input raises GgufError with the offset and reason.
// Layout: "GGUF", u32 version, u64 n_tensors, u64 n_kv, n_kv × (string key, u32 type, value),
// n_tensors × (string name, u32 n_dims, u64 dims[n_dims], u32 ggml type, u64 offset), padding to
// general.alignment (default 32), then the tensor data.
import { openSync, readSync, closeSync, fstatSync } from "node:fs";

export class GgufError extends Error {
  override name = "GgufError";
}

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (row length) */
  dims: number[];
  type: number;
  /** absolute byte offset of the data in the file */
  offset: number;
  nbytes: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: Record<string, GgufValue>;
  tensors: GgufTensorInfo[];
  dataOffset: number;
  fileSize: number;
}

// ggml_type → [block size in elements, bytes per block]
export const GGML_TYPES: Record<number, { name: string; block: number; bytes: number }> = {
  0: { name: "F32", block: 1, bytes: 4 },
  1: { name: "F16", block: 1, bytes: 2 },
  2: { name: "Q4_0", block: 32, bytes: 18 },
  3: { name: "Q4_1", block: 32, bytes: 20 },
  6: { name: "Q5_0", block: 32, bytes: 22 },
  7: { name: "Q5_1", block: 32, bytes: 24 },
  8: { name: "Q8_0", block: 32, bytes: 34 },
  9: { name: "Q8_1", block: 32, bytes: 36 },
  10: { name: "Q2_K", block: 256, bytes: 84 },
  11: { name: "Q3_K", block: 256, bytes: 110 },
  12: { name: "Q4_K", block: 256, bytes: 144 },
  13: { name: "Q5_K", block: 256, bytes: 176 },
  14: { name: "Q6_K", block: 256, bytes: 210 },
  15: { name: "Q8_K", block: 256, bytes: 292 },
  16: { name: "IQ2_XXS", block: 256, bytes: 66 },
  17: { name: "IQ2_XS", block: 256, bytes: 74 },
  18: { name: "IQ3_XXS", block: 256, bytes: 98 },
  19: { name: "IQ1_S", block: 256, bytes: 50 },
  20: { name: "IQ4_NL", block: 32, bytes: 18 },
  21: { name: "IQ3_S", block: 256, bytes: 110 },
  22: { name: "IQ2_S", block: 256, bytes: 82 },
  23: { name: "IQ4_XS", block: 256, bytes: 136 },
  24: { name: "I8", block: 1, bytes: 1 },
  25: { name: "I16", block: 1, bytes: 2 },
  26: { name: "I32", block: 1, bytes: 4 },
  27: { name: "I64", block: 1, bytes: 8 },
  28: { name: "F64", block: 1, bytes: 8 },
  29: { name: "IQ1_M", block: 256, bytes: 56 },
  30: { name: "BF16", block: 1, bytes: 2 },
  34: { name: "TQ1_0", block: 256, bytes: 54 },
  35: { name: "TQ2_0", block: 256, bytes: 66 },
  39: { name: "MXFP4", block: 32, bytes: 17 },
};

export function ggmlTypeName(type: number): string {
  return GGML_TYPES[type]?.name ?? `type ${type}`;
}

const MAX_DIMS = 8;
const MAX_ARRAY = 1 << 28;

/** A cursor over the header bytes; asks for more of the file when it runs out. */
class HeaderReader {
  private buf: Buffer;
  pos = 0;
  constructor(
    private readonly fd: number,
    readonly fileSize: number,
  ) {
    this.buf = this.load(Math.min(fileSize, 1 << 20));
  }

  private load(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, b, got, n - got, got);
      if (r <= 0) break;
      got += r;
    }
    return b.subarray(0, got);
  }

  private need(n: number, what: string): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos + n > this.fileSize) {
      throw new GgufError(`truncated file: ${what} needs ${n} bytes at offset ${this.pos}, file has ${this.fileSize}`);
    }
    this.buf = this.load(Math.min(this.fileSize, Math.max(this.buf.length * 2, this.pos + n)));
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${what} at offset ${this.pos - 8} is absurdly large (${v})`);
    return Number(v);
  }
  value(type: number, what: string, depth = 0): GgufValue {
    const at = this.pos;
    switch (type) {
      case 0: return this.u8(what);
      case 1: this.need(1, what); return this.buf.readInt8(this.pos++);
      case 2: this.need(2, what); this.pos += 2; return this.buf.readUInt16LE(this.pos - 2);
      case 3: this.need(2, what); this.pos += 2; return this.buf.readInt16LE(this.pos - 2);
      case 4: return this.u32(what);
      case 5: this.need(4, what); this.pos += 4; return this.buf.readInt32LE(this.pos - 4);
      case 6: this.need(4, what); this.pos += 4; return this.buf.readFloatLE(this.pos - 4);
      case 7: return this.u8(what) !== 0;
      case 8: return this.string(what);
      case 9: {
        if (depth > 4) throw new GgufError(`${what}: arrays nested too deep at offset ${at}`);
        const itemType = this.u32(what);
        const n = this.u64(what);
        if (n > MAX_ARRAY || n > this.fileSize) throw new GgufError(`${what}: array of ${n} items at offset ${at} cannot fit in the file`);
        const out: GgufValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value(itemType, what, depth + 1);
        return out;
      }
      case 10: this.need(8, what); this.pos += 8; return this.buf.readBigUInt64LE(this.pos - 8);
      case 11: this.need(8, what); this.pos += 8; return this.buf.readBigInt64LE(this.pos - 8);
      case 12: this.need(8, what); this.pos += 8; return this.buf.readDoubleLE(this.pos - 8);
      default:
        throw new GgufError(`${what}: unknown value type ${type} at offset ${at}`);
    }
  }
  string(what: string): string {
    const at = this.pos;
    const n = this.u64(what);
    if (n > this.fileSize - this.pos) throw new GgufError(`${what}: string of ${n} bytes at offset ${at} runs past the end of the file`);
    this.need(n, what);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

export function readGguf(path: string): GgufFile {
  const fd = openSync(path, "r");
  try {
    const fileSize = fstatSync(fd).size;
    const r = new HeaderReader(fd, fileSize);
    const magic = r.u32("magic");
    if (magic !== 0x46554747) throw new GgufError(`not a GGUF file: bad magic 0x${magic.toString(16)} at offset 0`);
    const version = r.u32("version");
    if (version !== 2 && version !== 3) throw new GgufError(`unsupported GGUF version ${version} at offset 4`);
    const nTensors = r.u64("tensor count");
    const nKv = r.u64("metadata count");
    // Each metadata entry and tensor info takes at least 12 bytes: counts beyond that are corrupt.
    if (nKv * 12 > fileSize || nTensors * 24 > fileSize) {
      throw new GgufError(`absurd counts at offset 8: ${nTensors} tensors, ${nKv} metadata entries in a ${fileSize}-byte file`);
    }
    const metadata: Record<string, GgufValue> = {};
    for (let i = 0; i < nKv; i++) {
      const key = r.string(`metadata key ${i}`);
      metadata[key] = r.value(r.u32(`type of ${key}`), key);
    }
    const infos: Omit<GgufTensorInfo, "offset" | "nbytes">[] = [];
    const rel: number[] = [];
    for (let i = 0; i < nTensors; i++) {
      const at = r.pos;
      const name = r.string(`tensor ${i} name`);
      const nDims = r.u32(`${name} n_dims`);
      if (nDims === 0 || nDims > MAX_DIMS) throw new GgufError(`${name}: ${nDims} dimensions at offset ${at}`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(r.u64(`${name} dim ${d}`));
      const type = r.u32(`${name} type`);
      infos.push({ name, dims, type });
      rel.push(r.u64(`${name} offset`));
    }
    const alignment = typeof metadata["general.alignment"] === "number" ? (metadata["general.alignment"] as number) : 32;
    if (alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new GgufError(`general.alignment ${alignment} is not a power of two`);
    const dataOffset = Math.ceil(r.pos / alignment) * alignment;
    const tensors = infos.map((t, i) => {
      const info = GGML_TYPES[t.type];
      const count = t.dims.reduce((a, b) => a * b, 1);
      const nbytes = info ? (count / info.block) * info.bytes : 0;
      const offset = dataOffset + rel[i]!;
      if (rel[i]! % alignment !== 0) throw new GgufError(`${t.name}: data offset ${rel[i]} is not aligned to ${alignment}`);
      if (info && (!Number.isInteger(nbytes) || offset + nbytes > fileSize)) {
        throw new GgufError(`${t.name}: data (${nbytes} bytes at offset ${offset}) runs past the end of the file (${fileSize} bytes)`);
      }
      return { ...t, offset, nbytes };
    });
    return { path, version, metadata, tensors, dataOffset, fileSize };
  } finally {
    closeSync(fd);
  }
}

/** The raw bytes of one tensor (read by range: the file is never loaded whole). */
export function readTensorBytes(file: GgufFile, t: GgufTensorInfo): Uint8Array {
  const fd = openSync(file.path, "r");
  try {
    const out = new Uint8Array(t.nbytes);
    let got = 0;
    while (got < t.nbytes) {
      const n = readSync(fd, out, got, t.nbytes - got, t.offset + got);
      if (n <= 0) throw new GgufError(`${t.name}: file ended at offset ${t.offset + got}`);
      got += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
