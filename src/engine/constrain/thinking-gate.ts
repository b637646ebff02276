// Thinking before a format, as Ollama does for thinking models (server/routes.go runs the thought unconstrained,
// then constrains the answer): a thought is free text, and only what follows its close tag must be JSON. Here
// it is one pass: the gate lets the model open a thought at the start (or starts inside one when the prompt
// opened it), passes every token until the close tag, then hands over to the constraint. Near the end of the
// budget it closes the thought itself, while the answer's shortest value still fits. Without a format it only bounds
// the thought (a token budget: Anthropic's thinking.budget_tokens), and the answer after it is free.
import { array, type MxArray } from "../../ffi/index.ts";
import { detectThinkingTags, promptOpensThinking, type ThinkingTags } from "../../formats/tools/thinking.ts";
import type { Tokenizer } from "../../formats/tokenizer/tokenizer.ts";
import type { OutputConstraint } from "../protocol.ts";
import { createConstraint, type ConstraintState, type TokenConstraint } from "./constraint.ts";
import { byteVocab } from "./vocab.ts";

type Phase = "start" | "thinking" | "constrained";

const utf8 = new TextDecoder("utf-8", { fatal: false });

export class ThinkingGate implements TokenConstraint {
  private phase: Phase;
  private thought = new Uint8Array(0);
  private thoughtTokens = 0;
  private readonly openId: number | undefined;
  private readonly closeId: number | undefined;

  /**
   * `inner`: the answer's constraint (null: the answer is free text, the gate only bounds the thought); `budget`: the
   * most tokens a thought may take before the gate closes it (Anthropic's thinking.budget_tokens).
   */
  constructor(
    private readonly inner: ConstraintState | null,
    private readonly tokenizer: Tokenizer,
    private readonly tags: ThinkingTags,
    startInThinking: boolean,
    private readonly budget?: number,
  ) {
    this.phase = startInThinking ? "thinking" : "start";
    // Only an open tag that is one token can be offered next to the format's first tokens.
    const ids = tokenizer.encode(tags.open, { addSpecialTokens: false });
    this.openId = ids.length === 1 ? ids[0] : undefined;
    const close = tokenizer.encode(tags.close, { addSpecialTokens: false });
    this.closeId = close.length === 1 ? close[0] : undefined;
  }

  get finished(): boolean {
    return this.phase === "constrained" && (this.inner?.finished ?? false);
  }

  /** The tokens allowed next (indexed by id), or null while thinking (or with no constraint after it): all of them. */
  allowed(): Uint8Array | null {
    if (this.phase === "thinking" || !this.inner) return null;
    if (this.phase === "constrained" || this.openId === undefined) return this.inner.allowed();
    const allowed = this.inner.allowed().slice();
    allowed[this.openId] = 1;
    return allowed;
  }

  mask(vocabSize: number, remaining?: number): MxArray | null {
    const inner = this.inner;
    // at the start, a thought is offered only while its open and close tags and the answer still fit
    const tight = inner !== null && remaining !== undefined && remaining - 2 < inner.need;
    if (inner && (this.phase === "constrained" || (this.phase === "start" && tight))) return inner.mask(vocabSize, remaining);
    if (!inner && this.phase === "constrained") return null;
    let allowed = this.allowed();
    // A thought runs freely until its own budget is spent, or until only the answer's shortest value fits after it:
    // then it closes.
    const spent = this.budget !== undefined && this.thoughtTokens >= this.budget;
    const crowded = inner !== null && remaining !== undefined && remaining - 1 <= inner.need;
    if (this.phase === "thinking" && this.closeId !== undefined && (spent || crowded)) {
      allowed = new Uint8Array(vocabSize);
      allowed[this.closeId] = 1;
    }
    if (!allowed) return null;
    const fitted = new Uint8Array(vocabSize);
    fitted.set(allowed.subarray(0, vocabSize));
    return array(fitted, [1, vocabSize], "bool");
  }

  advance(token: number): void {
    if (this.phase === "start") {
      if (token === this.openId) this.phase = "thinking";
      else {
        this.phase = "constrained";
        this.inner?.advance(token);
      }
      return;
    }
    if (this.phase === "constrained") return this.inner?.advance(token);
    this.thoughtTokens++;
    const bytes = byteVocab(this.tokenizer).bytesOf(token);
    const joined = new Uint8Array(this.thought.length + bytes.length);
    joined.set(this.thought);
    joined.set(bytes, this.thought.length);
    this.thought = joined;
    const text = utf8.decode(joined);
    const end = text.indexOf(this.tags.close);
    if (end < 0) {
      // Only the tail can still hold the start of a close tag: a long thought is not re-decoded every token.
      this.thought = joined.slice(-64);
      return;
    }
    this.phase = "constrained";
    // Text after the close tag in the same token starts the answer; the blank line models put there is skipped.
    const rest = text.slice(end + this.tags.close.length).trimStart();
    if (rest) this.inner?.advanceText(rest);
  }
}

/**
 * The token constraint of one request. A format on a model that thinks (the request turned thinking on, or the
 * prompt left a thought open) is gated behind the thought; a forced tool call closes any open thought in its
 * own prefix (routes/tool-choice.ts), so it is never gated. A thought budget alone is a gate with no format after
 * it; with neither, there is no constraint.
 */
export function requestConstraint(
  tokenizer: Tokenizer,
  spec: OutputConstraint | undefined,
  prompt: string,
  thinkingOn: boolean,
  thinkBudget?: number,
): TokenConstraint | undefined {
  const state = spec ? createConstraint(tokenizer, spec) : null;
  if (spec?.kind === "tool_call" || !tokenizer.chatTemplate) return state ?? undefined;
  const tags = detectThinkingTags(tokenizer.chatTemplate);
  if (!tags) return state ?? undefined;
  const opened = promptOpensThinking(prompt, tags);
  if (!(opened || thinkingOn) || (!state && thinkBudget === undefined)) return state ?? undefined;
  return new ThinkingGate(state, tokenizer, tags, opened, thinkBudget);
}
