import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The command line that runs service `app` (`apps/<app>`) under Node with `nodeFlags`: its bundle
 * `apps/<app>/dist/main.mjs` (made by `scripts/build-<app>`, which setup and `npm test` run) while
 * no TypeScript source under apps/ or libs/, nor the lockfile, is newer than the bundle; else its
 * `src/main.ts` through tsx, so that an edit never runs stale code (the `berth` launcher's rule).
 * A bundle starts faster and is smaller in memory: no TypeScript loader, no per-file modules.
 */
export function serviceEntry(root: string, app: string, nodeFlags: string[] = []): string[] {
  const bundle = join(root, 'apps', app, 'dist', 'main.mjs');
  if (bundleIsFresh(root, bundle)) return [process.execPath, ...nodeFlags, bundle];
  return [process.execPath, ...nodeFlags, '--import', 'tsx', join(root, 'apps', app, 'src', 'main.ts')];
}

function bundleIsFresh(root: string, bundle: string): boolean {
  if (!existsSync(bundle)) return false;
  const built = statSync(bundle).mtimeMs;
  if ((statSync(join(root, 'package-lock.json'), { throwIfNoEntry: false })?.mtimeMs ?? 0) > built) return false;
  return !newerSource(join(root, 'apps'), built) && !newerSource(join(root, 'libs'), built);
}

/** True when a `.ts` file below `dir` (node_modules and dist aside) was modified after `time`. */
function newerSource(dir: string, time: number): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory() ? newerSource(path, time) : entry.name.endsWith('.ts') && statSync(path).mtimeMs > time) return true;
  }
  return false;
}
