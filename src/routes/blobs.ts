// Blob upload for /api/create (server/routes.go HeadBlobHandler, CreateBlobHandler): the body is streamed to a
// temporary file while it is hashed, and only a blob whose sha256 matches the digest in the path is kept.
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { Elysia, t } from "elysia";
import { InvalidRequestError, MESSAGES, OllamaError } from "../api/errors.ts";
import { ErrorResponse } from "../schemas/index.ts";
import type { AppContext } from "./context.ts";

const DIGEST = /^sha256[:-]([0-9a-f]{64})$/;

function blobHex(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new InvalidRequestError(MESSAGES.invalidDigest);
  return m[1]!;
}

async function writeVerified(path: string, body: ReadableStream<Uint8Array> | null, expectedHex: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.upload-${randomUUID()}`;
  const hash = createHash("sha256");
  const file = createWriteStream(tmp);
  try {
    if (body) {
      for await (const chunk of body) {
        hash.update(chunk);
        if (!file.write(chunk)) await new Promise((resolve) => file.once("drain", resolve));
      }
    }
    await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
    const got = hash.digest("hex");
    if (got !== expectedHex) {
      throw new InvalidRequestError(`digest mismatch, expected "sha256:${expectedHex}", got "sha256:${got}"`);
    }
    renameSync(tmp, path);
  } finally {
    file.destroy();
    rmSync(tmp, { force: true });
  }
}

const Params = t.Object({ digest: t.String({ description: '"sha256:<64 hex>"' }) });

export function blobRoutes(app: AppContext) {
  return new Elysia({ name: "blobs" })
    .head(
      "/api/blobs/:digest",
      ({ params }) => {
        const hex = blobHex(params.digest);
        if (!app.store.hasBlob(`sha256:${hex}`)) throw new OllamaError(404, `blob ${JSON.stringify(params.digest)} not found`);
        return new Response(null, { status: 200 });
      },
      { params: Params, detail: { summary: "Whether a blob exists (200) or not (404)", tags: ["blobs"] } },
    )
    .post(
      "/api/blobs/:digest",
      async ({ params, request }) => {
        const hex = blobHex(params.digest);
        const digest = `sha256:${hex}`;
        if (app.store.hasBlob(digest)) return new Response(null, { status: 200 });
        await writeVerified(app.store.blobPath(digest), request.body, hex);
        return new Response(null, { status: 201 });
      },
      {
        params: Params,
        parse: "none",
        response: { 200: t.Void(), 201: t.Void(), 400: ErrorResponse },
        detail: {
          summary: "Upload a blob (raw body) for /api/create",
          description: "201 when stored, 200 when it already existed, 400 when the body's sha256 is not the digest",
          tags: ["blobs"],
        },
      },
    );
}
