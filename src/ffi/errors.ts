// MLX's own error messages (e.g. "[matmul] Last dimension of first input ...") surface as MlxError.
import { sym } from "./lib.ts";

export class MlxError extends Error {
  override name = "MlxError";
}

function fail(what: string): never {
  const msg = sym.mlxs_last_error() || `${what} failed without a message`;
  sym.mlxs_clear_error();
  throw new MlxError(msg);
}

/** A handle-returning call: 0 means error. */
export function checkHandle(h: number, what: string): number {
  if (h === 0) fail(what);
  return h;
}

/** A status or count-returning call: negative means error. */
export function checkStatus(rc: number, what: string): number {
  if (rc < 0) fail(what);
  return rc;
}

/** A double-returning call: NaN means error. */
export function checkNumber(v: number, what: string): number {
  if (Number.isNaN(v)) fail(what);
  return v;
}

/** A string-returning call: null means error. */
export function checkString(s: string | null, what: string): string {
  if (s === null) fail(what);
  return s;
}
