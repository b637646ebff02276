// One decoded tool call, what every format's decoder returns: a leaf, so that the decoders in call-syntax.ts need
// not import the format table (formats.ts) that uses them.
export interface ParsedCall {
  name: string;
  arguments: Record<string, unknown>;
}
