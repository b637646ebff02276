// Request fields ollmlx does not implement yet: refused with a clear 400 rather than silently ignored.
import { InvalidRequestError } from "../api/errors.ts";

export function rejectUnsupported(body: { _debug_render_only?: boolean | null }): void {
  if (body._debug_render_only) throw new InvalidRequestError("_debug_render_only is not supported yet");
}
