import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The checkout these tests run in. */
export const ROOT = resolve(import.meta.dirname, '../../../..');
/** The CLI's bundle, as scripts/build-cli makes it (npm test builds it first). */
export const BUNDLE = join(ROOT, 'apps/cli/dist/main.cjs');

/**
 * The sources the bundle was made from (apps/cli/dist/sources.json), for tests of the bundle itself.
 * Throws when one is newer than the bundle: such a test would be of code that is not the sources'.
 */
export function freshBundleSources(): string[] {
  const { files } = JSON.parse(readFileSync(join(ROOT, 'apps/cli/dist/sources.json'), 'utf8')) as { files: string[] };
  const built = statSync(BUNDLE).mtimeMs;
  const stale = files.find((f) => statSync(join(ROOT, f)).mtimeMs > built);
  if (stale !== undefined) throw new Error(`${stale} is newer than apps/cli/dist: run bash scripts/build-cli first`);
  return files;
}
