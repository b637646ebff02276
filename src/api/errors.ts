// Typed errors with Ollama's exact messages (server/routes.go, server/sched.go, server/images.go), and the one place
// that maps them to an HTTP status and body: {"error": "..."} natively, OpenAI's envelope on /v1.
import type { AnthropicError, ErrorResponse, OpenAIError } from "../schemas/index.ts";

/** An error a client caused or can act on; `status` is the HTTP status Ollama answers with. */
export class OllamaError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = new.target.name;
    this.status = status;
  }
}

/** 400: a malformed or contradictory request (the message is the exact text Ollama sends). */
export class InvalidRequestError extends OllamaError {
  constructor(message: string) {
    super(400, message);
  }
}

/** 404 `model 'NAME' not found` (generate, chat, show, delete, embed). */
export class ModelNotFoundError extends OllamaError {
  readonly model: string;
  constructor(model: string, message = `model '${model}' not found`) {
    super(404, message);
    this.model = model;
  }
  /** copy's wording: `model "NAME" not found`. */
  static quoted(model: string): ModelNotFoundError {
    return new ModelNotFoundError(model, `model ${JSON.stringify(model)} not found`);
  }
  /** the scheduler's wording: `model "NAME" not found, try pulling it first`. */
  static whileScheduling(model: string): ModelNotFoundError {
    return new ModelNotFoundError(model, `model ${JSON.stringify(model)} not found, try pulling it first`);
  }
}

/** 400 `"NAME" does not support tools|insert|thinking|vision|...` (CheckCapabilities, via scheduleRunner). */
export class CapabilityError extends OllamaError {
  constructor(model: string, missing: readonly string[]) {
    // scheduleRunner: fmt.Errorf("%s %w", model.Name, err) where err = "does not support" + errors.Join(caps)
    super(400, `${model} does not support ${missing.join("\n")}`);
  }
  /** generate/chat's own checks quote the name: `"NAME" does not support thinking`. */
  static quoted(model: string, capability: string): InvalidRequestError {
    return new InvalidRequestError(`${JSON.stringify(model)} does not support ${capability}`);
  }
}

/** 503 when the pending queue (OLLAMA_MAX_QUEUE) is full. */
export class ServerBusyError extends OllamaError {
  constructor() {
    super(503, "server busy, please try again.  maximum pending requests exceeded");
  }
}

/** 499 (nginx's "client closed request") when the client went away while its request was being scheduled. */
export class RequestCanceledError extends OllamaError {
  constructor() {
    super(499, "request canceled");
  }
}

/** 413 for a JSON body over the server's limit (src/api/body.ts); the text is Go's http.MaxBytesReader error. */
export class PayloadTooLargeError extends OllamaError {
  constructor() {
    super(413, "http: request body too large");
  }
}

/** 400 when the prompt does not fit the model's context (x/mlxrunner/pipeline.go). */
export class ContextLengthError extends OllamaError {
  constructor(inputTokens: number, contextLength: number) {
    super(
      400,
      `input length (${inputTokens} tokens) exceeds the model's maximum context length (${contextLength} tokens)`,
    );
  }
}

/** Exact strings Ollama sends for request problems that have no parameter. */
export const MESSAGES = {
  missingBody: "missing request body",
  modelRequired: "model is required",
  invalidModelName: "invalid model name",
  topLogprobsRange: "top_logprobs must be between 0 and 20",
  rawModeConflict: "raw mode does not support template, system, or context",
  invalidInputType: "invalid input type",
  inputTooLong: "the input length exceeds the context length",
  noImageInput: "this model does not support image input",
  invalidDigest: "invalid digest format",
} as const;

/** The HTTP status for any thrown value: ours carry it, anything else is a 500. */
export function statusFor(error: unknown): number {
  return error instanceof OllamaError ? error.status : 500;
}

export function messageFor(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The native error body. */
export function errorBody(error: unknown): ErrorResponse {
  return { error: messageFor(error) };
}

/** OpenAI's error type for a status, as openai.NewError chooses it. */
export function openAIErrorType(status: number): string {
  if (status === 400) return "invalid_request_error";
  if (status === 404) return "not_found_error";
  return "api_error";
}

/** The /v1 error body: {"error": {"message", "type", "param": null, "code": null}}. */
export function openAIErrorBody(error: unknown, status = statusFor(error)): OpenAIError {
  return { error: { message: messageFor(error), type: openAIErrorType(status), param: null, code: null } };
}

/** Anthropic's error type for a status (its API reference's table; 503, our full queue, is its "overloaded"). */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

/** The /v1/messages error body: {"type": "error", "error": {"type", "message"}}. */
export function anthropicErrorBody(error: unknown, status = statusFor(error)): AnthropicError {
  return { type: "error", error: { type: anthropicErrorType(status), message: messageFor(error) } };
}

export function anthropicErrorResponse(error: unknown): Response {
  const status = statusFor(error);
  return Response.json(anthropicErrorBody(error, status), { status });
}

/** A complete JSON error Response for the native API. */
export function errorResponse(error: unknown): Response {
  return Response.json(errorBody(error), { status: statusFor(error) });
}

/** A complete JSON error Response for the /v1 routes. */
export function openAIErrorResponse(error: unknown): Response {
  const status = statusFor(error);
  return Response.json(openAIErrorBody(error, status), { status });
}
