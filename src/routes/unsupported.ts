// Request fields ollmlx does not implement yet: refused with a clear 400 rather than silently ignored.
import { InvalidRequestError } from "../api/errors.ts";

export function rejectUnsupported(body: { template?: string | null; context?: number[] | null; _debug_render_only?: boolean | null }): void {
  if (body.template) {
    throw new InvalidRequestError("template is not supported yet: ollmlx renders the model's own chat template");
  }
  if (body.context && body.context.length > 0) {
    throw new InvalidRequestError("context is not supported yet: send the conversation as /api/chat messages");
  }
  if (body._debug_render_only) throw new InvalidRequestError("_debug_render_only is not supported yet");
}
