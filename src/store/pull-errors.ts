// The ways a pull fails, with Ollama's wording where Ollama has one (server/images.go, server/download.go).
// Ollama answers a failed non-streaming pull with 500, so these do too, except a refusal the client can act on (400).
import { OllamaError } from "../api/errors.ts";

export class PullError extends OllamaError {
  constructor(message: string, status = 500) {
    super(status, message);
  }
}

/**
 * A transfer the network broke (a connection reset, a stall, a body cut short): the bytes so far are kept, and
 * trying again resumes from them, so a pull retries these a few times before giving up (as Ollama retries a part).
 */
export class TransientPullError extends PullError {}

/** The registry has no such model or tag: Ollama's `pull model manifest: file does not exist`. */
export class ManifestNotFoundError extends PullError {
  constructor() {
    super("pull model manifest: file does not exist");
  }
}

/** A downloaded blob whose bytes do not hash to its digest (the partial file is deleted: it cannot be resumed). */
export class DigestMismatchError extends PullError {
  constructor(want: string, got: string) {
    super(`digest mismatch, file must be downloaded again: want ${want}, got ${got}`);
  }
}

/** A model ollmlx will not install: an unsupported architecture, no weights, no such quantization (400). */
export class UnsupportedModelError extends PullError {
  constructor(message: string) {
    super(message, 400);
  }
}

/** Ollama's errInsecureProtocol: an http:// name without `insecure: true`. */
export class InsecureProtocolError extends PullError {
  constructor() {
    super("insecure protocol http", 400);
  }
}
