import { watch, type FSWatcher } from 'node:fs';

/**
 * How `logs --follow` waits for more: one tick each time `path` (a file, or the directory a file
 * rotates in) changes, and at least every `pollMs` (250 ms) since a watch can miss events or fail
 * to start (the file may not exist yet). Ends after the tick that follows `signal`'s abort; the
 * caller then drains what is left. The watch is closed when the loop ends, however it ends.
 */
export async function* changeTicks(path: string, options: { signal?: AbortSignal; pollMs?: number } = {}): AsyncGenerator<void> {
  const signal = options.signal;
  let wake: (() => void) | undefined;
  const nudge = () => wake?.();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, nudge);
    watcher.on('error', () => {}); // a watch that breaks later: polling covers it
  } catch {
    // The path may not exist yet: polling covers it.
  }
  signal?.addEventListener('abort', nudge, { once: true });
  try {
    while (!signal?.aborted) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, options.pollMs ?? 250);
      });
      wake = undefined;
      yield; // also once after the abort woke it, as the loop it replaced did
    }
  } finally {
    watcher?.close();
    signal?.removeEventListener('abort', nudge);
  }
}
