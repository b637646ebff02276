// safetensors files through MLX's reader/writer. Tensors load lazily: bytes are read when evaluated.
import { MxArray, handles, wrap } from "./array.ts";
import { checkHandle, checkStatus, checkString } from "./errors.ts";
import { cstr, sym } from "./lib.ts";

interface Header {
  tensors: string[];
  metadata: Record<string, string>;
}

/** An open safetensors file. get() makes a new array per call; close (or dispose) when done. */
export class SafetensorsFile implements Disposable {
  readonly names: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  #id: number;

  constructor(path: string) {
    this.#id = checkHandle(sym.mlxs_st_open(cstr(path)), "st_open");
    const header = JSON.parse(checkString(sym.mlxs_st_json(this.#id), "st_json")) as Header;
    this.names = header.tensors;
    this.metadata = header.metadata;
  }

  get(name: string): MxArray {
    if (this.#id === 0) throw new Error("safetensors file is closed");
    return wrap(sym.mlxs_st_get(this.#id, cstr(name)), "st_get");
  }

  close(): void {
    if (this.#id === 0) return;
    sym.mlxs_st_close(this.#id);
    this.#id = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export function openSafetensors(path: string): SafetensorsFile {
  return new SafetensorsFile(path);
}

/** Every tensor of a file (lazy) and its metadata. */
export function loadSafetensors(path: string): { tensors: Map<string, MxArray>; metadata: Record<string, string> } {
  using file = new SafetensorsFile(path);
  const tensors = new Map<string, MxArray>();
  for (const name of file.names) tensors.set(name, file.get(name));
  return { tensors, metadata: { ...file.metadata } };
}

/** Writes tensors (evaluating them) and string metadata to a safetensors file. */
export function saveSafetensors(
  path: string,
  tensors: Record<string, MxArray> | Map<string, MxArray>,
  metadata: Record<string, string> = {},
): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const names = Buffer.from(entries.map(([k]) => `${k}\0`).join("") || "\0", "utf8");
  const meta = Object.entries(metadata);
  const metaBuf = Buffer.from(meta.map(([k, v]) => `${k}\0${v}\0`).join("") || "\0", "utf8");
  const hs = entries.length > 0 ? handles(entries.map(([, a]) => a)) : new Int32Array(1);
  checkStatus(sym.mlxs_st_save(cstr(path), names, hs, entries.length, metaBuf, meta.length), "st_save");
}

/**
 * A Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 or Q4_K tensor's blocks (ggml type id `type`) as MLX affine group-32 words and float32 scales
 * and biases, written natively (native/mlx_c_shim/gguf_repack.cpp; the same bytes as formats/gguf/repack.ts's
 * decoders). False for another type.
 */
export function ggufRepack(type: number, src: Uint8Array, wq: Uint8Array, scales: Float32Array, biases: Float32Array): boolean {
  if (src.length === 0) return false;
  // the typed arrays go as they are: bun:ffi passes their storage for the call's duration (src/ffi/out.ts)
  const r = sym.mlxs_gguf_repack(type, src, src.length, wq, scales, biases);
  if (r < 0) throw new Error(`gguf_repack: ${src.length} bytes are not whole blocks of type ${type}`);
  return r === 1;
}
