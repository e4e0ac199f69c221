import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The command line that runs the service whose entry point is `source` (relative to the repository
 * root, e.g. `apps/registry/src/main.ts`) under Node with `nodeFlags`: its bundle (`dist/` beside
 * `src/`, `main.mjs`, made by scripts/bundle.mjs through `scripts/build-services`, which setup and
 * `npm test` run) while no TypeScript source under apps/, libs/ or compose/, nor the lockfile, is
 * newer than the bundle; else the source through tsx, so that an edit never runs stale code (the
 * `berth` launcher's rule). A bundle starts faster and is smaller in memory: no TypeScript loader
 * and its esbuild process, no per-file modules.
 */
export function serviceEntry(root: string, source: string, nodeFlags: string[] = []): string[] {
  const bundle = bundleOf(root, source);
  if (bundleIsFresh(root, bundle)) return [process.execPath, ...nodeFlags, bundle];
  return [process.execPath, ...nodeFlags, '--import', 'tsx', join(root, source)];
}

/** `<app>/src/main.ts` → `<app>/dist/main.mjs` (the bundle's chunks beside it). */
function bundleOf(root: string, source: string): string {
  return join(root, dirname(dirname(source)), 'dist', 'main.mjs');
}

function bundleIsFresh(root: string, bundle: string): boolean {
  if (!existsSync(bundle)) return false;
  const built = statSync(bundle).mtimeMs;
  if ((statSync(join(root, 'package-lock.json'), { throwIfNoEntry: false })?.mtimeMs ?? 0) > built) return false;
  return !['apps', 'libs', 'compose'].some((dir) => newerSource(join(root, dir), built));
}

/** True when a `.ts` file below `dir` (node_modules and dist aside) was modified after `time`. */
function newerSource(dir: string, time: number): boolean {
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory() ? newerSource(path, time) : entry.name.endsWith('.ts') && statSync(path).mtimeMs > time) return true;
  }
  return false;
}
