// What a failed pull may leave in a store, checked on the filesystem: only blobs whose bytes hash to their names
// (plus resumable -partial files), no manifest of the failed model, nothing anywhere else.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { Store } from "../../src/store/store.ts";
import { sha256 } from "./fake-servers.ts";

/** Every file under `dir`, relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  try {
    walk(dir);
  } catch {
    // no such directory: nothing under it
  }
  return out.sort();
}

/** The store's blob files that are not what their name says (a complete blob that does not hash to its digest). */
export function corruptBlobs(store: Store): string[] {
  return filesUnder(join(store.root, "blobs"))
    .filter((f) => /^sha256-[0-9a-f]{64}$/.test(f))
    .filter((f) => sha256(readFileSync(join(store.root, "blobs", f))) !== f.slice(7));
}

/** The store holds no model and nothing corrupt: blobs verify, and only blobs/ (with -partial files) exists. */
export function expectNothingInstalled(store: Store): string[] {
  const problems: string[] = [];
  if (store.list().length > 0) problems.push(`listed: ${store.list().map((m) => m.display).join(", ")}`);
  for (const f of filesUnder(store.root)) {
    if (!/^blobs\/sha256-[0-9a-f]{64}(-partial)?$/.test(f)) problems.push(`unexpected file ${f}`);
  }
  for (const f of corruptBlobs(store)) problems.push(`corrupt blob ${f}`);
  return problems;
}

/** The size of a blob's -partial file (0 when there is none). */
export function partialSize(store: Store, digest: string): number {
  try {
    return statSync(`${store.blobPath(digest)}-partial`).size;
  } catch {
    return 0;
  }
}
