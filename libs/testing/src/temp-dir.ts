import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory that `await using` (or `remove()`) deletes with everything in it. */
export interface TempDir extends AsyncDisposable {
  path: string;
  remove(): void;
}

export function tempDir(prefix = 'berth-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(path, { recursive: true, force: true });
  return { path, remove, [Symbol.asyncDispose]: async () => remove() };
}
