// `ollmlx create MODEL [-f Modelfile]`: parse the Modelfile, upload the files it names as blobs (HEAD, then POST
// /api/blobs/<digest> if the server lacks one), then POST /api/create and show its progress (cmd.go CreateHandler).
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Client } from "./client.ts";
import { createRequest, parseModelfile } from "./modelfile.ts";
import { Progress, Spinner, StatusLines } from "./progress.ts";

/** Streams a file as a request body, telling `onBytes` how far it got. */
function countingStream(path: string, onBytes: (sent: number) => void): ReadableStream<Uint8Array> {
  const reader = Bun.file(path).stream().getReader();
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      sent += value.byteLength;
      onBytes(sent);
      controller.enqueue(value);
    },
  });
}

/** Uploads a file as a blob unless the server has it (a spinner with the share sent). */
export async function uploadBlob(client: Client, digest: string, path: string, progress: Progress): Promise<void> {
  const spinner = new Spinner(`copying file ${digest} 0%`);
  progress.add(spinner);
  try {
    if (!(await client.hasBlob(digest))) {
      const size = statSync(path).size;
      const body = countingStream(path, (sent) => (spinner.message = `copying file ${digest} ${Math.trunc((100 * sent) / (size || 1))}%`));
      await client.createBlob(digest, body);
    }
    spinner.message = `copying file ${digest} 100%`;
  } finally {
    spinner.stop();
    progress.update();
  }
}

export async function create(client: Client, [model]: string[], flags: Map<string, string>): Promise<number> {
  const given = flags.get("file");
  const path = resolve(given || "Modelfile");
  let text: string;
  if (existsSync(path)) text = await Bun.file(path).text();
  else if (given) throw new Error("specified Modelfile wasn't found");
  else text = "FROM .\n"; // no Modelfile: the current directory is the model

  const instructions = parseModelfile(text);
  const progress = new Progress();
  try {
    const gathering = new Spinner("gathering model components");
    progress.add(gathering);
    const { request, blobs, warnings } = await createRequest(instructions, dirname(path));
    gathering.stop();
    progress.update();
    for (const warning of warnings) console.log(warning);
    for (const [digest, file] of blobs) await uploadBlob(client, digest, file, progress);

    request.model = model;
    if (flags.get("quantize")) request.quantize = flags.get("quantize");
    const lines = new StatusLines(progress, (p) => p.status || `pulling ${p.digest!.slice(7, 19)}...`);
    for await (const p of client.create(request)) lines.add(p);
  } finally {
    progress.stop();
  }
  return 0;
}
