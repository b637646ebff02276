// One way to free a module's parts (as mlx-lm's nn.Module walks its children): each part a Disposable (a layer, an
// MxArray, a cache), a list of them, or absent.
export type Part = Disposable | readonly Part[] | null | undefined;

/** Disposes every part, lists element by element, in order; absent parts are skipped. */
export function disposeAll(...parts: Part[]): void {
  for (const p of parts) {
    if (!p) continue;
    if (Array.isArray(p)) disposeAll(...(p as readonly Part[]));
    else (p as Disposable)[Symbol.dispose]();
  }
}
