// Stop strings over decoded text (Ollama's `stop` option; mlx-lm's server strips them the same way,
// mlx-lm.md §3.4). Text that could still become a stop string is held back until the next segment
// disambiguates it, so a stop string split across tokens is never emitted.

export interface StopPush {
  /** Text safe to send now. */
  emit: string;
  /** A stop string was found: `emit` is the text before it, and generation should end. */
  stopped: boolean;
}

export class StopMatcher {
  private readonly stops: string[];
  private held = "";
  private done = false;
  /** the stop string that ended the text, once one did (Anthropic's stop_sequence) */
  matched: string | null = null;

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  get stopped(): boolean {
    return this.done;
  }

  push(segment: string): StopPush {
    if (this.done) return { emit: "", stopped: true };
    const text = this.held + segment;

    // Held text never contains a whole stop string, and released text never ends in the start
    // of one, so every match lies inside `text`; the earliest one wins.
    let cut = -1;
    for (const stop of this.stops) {
      const at = text.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) {
        cut = at;
        this.matched = stop;
      }
    }
    if (cut !== -1) {
      this.done = true;
      this.held = "";
      return { emit: text.slice(0, cut), stopped: true };
    }

    const keep = this.partialSuffixLength(text);
    this.held = text.slice(text.length - keep);
    return { emit: text.slice(0, text.length - keep), stopped: false };
  }

  /** Release the held text at the end of generation (it never became a stop string). */
  flush(): string {
    const rest = this.done ? "" : this.held;
    this.held = "";
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private partialSuffixLength(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, text.length); k > longest; k--) {
        if (text.endsWith(stop.slice(0, k))) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  }
}
