// `ollmlx run EMBEDDING_MODEL TEXT` (cmd.go generateEmbedding): one /api/embed request; the vector is printed as a
// JSON array on one line, --verbose adds the timings on stderr.
import { UsageError } from "./args.ts";
import type { Client } from "./client.ts";
import { metricsSummary } from "./display.ts";

export interface EmbedOptions {
  model: string;
  text: string;
  keepAlive?: string | number;
  verbose: boolean;
  /** --truncate=false: an input over the context is the server's error instead of being cut */
  truncate?: boolean;
  dimensions?: number;
}

/** --dimensions, as pflag's Int parses it. */
export function parseDimensions(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(value)) throw new UsageError(`invalid argument "${value}" for "--dimensions" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

export async function embedOnce(client: Client, opts: EmbedOptions): Promise<number> {
  if (!opts.text) throw new Error(`embedding models require input text. Usage: ollmlx run ${opts.model} "your text here"`);
  const response = await client.embed({
    model: opts.model,
    input: opts.text,
    keep_alive: opts.keepAlive,
    ...(opts.truncate !== undefined ? { truncate: opts.truncate } : {}),
    ...(opts.dimensions ? { dimensions: opts.dimensions } : {}),
  });
  process.stdout.write(`${JSON.stringify(response.embeddings[0] ?? [])}\n`);
  if (opts.verbose) process.stderr.write(metricsSummary(response));
  return 0;
}
