// MLX dtypes by name; the codes follow mlx::core::Dtype::Val (enum mlxs_dtype).
export type Dtype =
  | "bool"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "float16"
  | "float32"
  | "float64"
  | "bfloat16"
  | "complex64";

export const DTYPES: readonly Dtype[] = [
  "bool",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "int8",
  "int16",
  "int32",
  "int64",
  "float16",
  "float32",
  "float64",
  "bfloat16",
  "complex64",
];

const ITEMSIZE: Record<Dtype, number> = {
  bool: 1,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  float32: 4,
  float64: 8,
  bfloat16: 2,
  complex64: 8,
};

export function dtypeCode(d: Dtype): number {
  const code = DTYPES.indexOf(d);
  if (code < 0) throw new TypeError(`unknown dtype ${String(d)}`);
  return code;
}

export function dtypeOf(code: number): Dtype {
  const d = DTYPES[code];
  if (d === undefined) throw new TypeError(`unknown dtype code ${code}`);
  return d;
}

export function itemsize(d: Dtype): number {
  return ITEMSIZE[d];
}

export function isFloating(d: Dtype): boolean {
  return d === "float16" || d === "float32" || d === "float64" || d === "bfloat16";
}
