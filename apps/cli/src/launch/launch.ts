import { readFileSync } from 'node:fs';
import { chunkLoader } from './chunk-loader.js';
import { defaultCacheDir, openCodeCache } from './code-cache.js';

/**
 * The entry of the CLI bundle (apps/cli/dist/main.cjs, which ./berth runs): loads the bundle's
 * packs (run-main.ts and what it imports, then the command's own) through V8's code cache
 * (chunk-loader.ts, code-cache.ts), and stores the caches a run made when the process exits. BERTH_CLI_CODE_CACHE=off runs without one;
 * BERTH_CLI_CODE_CACHE=/some/dir keeps it there (same checks as the default directory).
 * `beforePack` is told the name of each pack before it is read (berth.cjs checks its sources).
 */
export function launch(options: { beforePack?: (pack: string) => void } = {}): void {
  const setting = process.env.BERTH_CLI_CODE_CACHE;
  const cache = setting === 'off' ? undefined : openCodeCache(setting || defaultCacheDir(process.env));
  const { packs, modules } = JSON.parse(readFileSync(`${__dirname}/manifest.json`, 'utf8')) as { packs: Record<string, string>; modules: Record<string, string> };
  const loader = chunkLoader(__dirname, { packs, modules, cache, nodeRequire: require, beforePack: options.beforePack });
  process.once('exit', () => loader.saveCaches());
  void (loader.load('run-main.js') as { runMain: () => Promise<never> }).runMain();
}

// `node apps/cli/dist/main.cjs …` runs the CLI; the `berth` launcher requires this file and calls
// launch() with its check of each pack's sources.
if (require.main === module) launch();
