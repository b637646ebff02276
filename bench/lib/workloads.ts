// The prompts every system gets, as text (each system tokenizes with its own tokenizer, as a user's request
// would be): a short one (~30 tokens) and a long one (~1500 tokens), deterministic and varied, so that a model's
// greedy continuation is ordinary prose rather than an instant end of text.
export interface Workload {
  name: "short" | "long" | "tiny";
  text: string;
}

const SHORT =
  "The history of the printing press begins in the fifteenth century, when a goldsmith in Mainz combined movable metal type, oil-based ink and a wooden press";

// A fixed pseudo-random generator (xorshift32): the long prompt is the same text on every machine and run.
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const SUBJECTS = ["The old harbour", "A travelling merchant", "The river town", "Our committee", "The northern road", "A young engineer", "The village school", "The lighthouse keeper", "The market square", "A quiet librarian"];
const VERBS = ["remembered", "described", "rebuilt", "measured", "forgot", "painted", "carried", "examined", "celebrated", "questioned"];
const OBJECTS = ["the winter of the great flood", "a map of the eastern valleys", "the bells of the cathedral", "three crates of copper wire", "the first steam engine in the county", "a ledger of unpaid debts", "the songs of the fishermen", "a garden of rare herbs", "the plans for a new bridge", "letters from a distant cousin"];
const TAILS = ["before the autumn rains arrived.", "while the children watched from the hill.", "and nobody could explain why.", "with more patience than anyone expected.", "as the mayor had promised years ago.", "under a sky the colour of slate.", "although the budget was nearly spent.", "because the old records were incomplete.", "long after the festival had ended.", "so that the next generation would know."];

/** About `words` words of varied prose (≈1.3 tokens a word for these tokenizers). */
export function prose(words: number, seed = 7): string {
  const r = rng(seed);
  const pick = (xs: string[]) => xs[Math.floor(r() * xs.length)]!;
  const out: string[] = [];
  let n = 0;
  let chapter = 1;
  while (n < words) {
    if (out.length % 8 === 0) out.push(`\n\nChapter ${chapter++}.`);
    const s = `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} ${pick(TAILS)}`;
    out.push(s);
    n += s.split(" ").length;
  }
  return out.join(" ").trim();
}

export function workloads(smoke: boolean): Workload[] {
  if (smoke) return [{ name: "tiny", text: "The history of the printing press begins in" }];
  return [
    { name: "short", text: SHORT },
    { name: "long", text: `${prose(1310)}\n\nChapter 99. The old harbour` },
  ];
}

/**
 * Each request gets a distinct first words: servers that cache prompt prefixes (mlx_lm.server, runners that
 * keep their KV cache) cannot skip the prompt, so every sample measures a full prefill.
 */
export function tagged(text: string, rep: number): string {
  return `Story ${rep + 1}. ${text}`;
}
