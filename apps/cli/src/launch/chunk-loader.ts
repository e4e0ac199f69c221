import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import type { CodeCache } from './code-cache.js';

/**
 * Loads the CLI bundle's files (CommonJS, made by scripts/bundle-cli.mjs) through `vm.Script`, the
 * only compiler API of Node 20 that takes and makes V8 code caches: each file compiles from its
 * cache when there is a good one, and `saveCaches()` (at exit) stores the cache of each file that
 * had none, with every function this run compiled.
 */
export interface ChunkLoader {
  /** The exports of bundle file `name` (e.g. `main.js`), run once. */
  load(name: string): unknown;
  saveCaches(): void;
}

interface Module {
  exports: unknown;
}

// Strict, as the ES modules the files were made from.
const WRAPPER = '(function (exports, require, module, __filename, __dirname) {"use strict";';

type Wrapped = (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;

export interface ChunkLoaderOptions {
  /** Each bundle file's SHA-256, from the build's manifest.json: the key of its code cache. */
  keys: Record<string, string>;
  /** undefined: no cache (compile every file from its source). */
  cache: CodeCache | undefined;
}

/** The loader of the bundle files in `dir`. */
export function chunkLoader(dir: string, { keys, cache }: ChunkLoaderOptions): ChunkLoader {
  const modules = new Map<string, Module>();
  const unsaved: Array<{ key: string; script: Script }> = [];
  const nodeRequire = createRequire(join(dir, 'main.cjs'));
  // `./x.js` is another bundle file; anything else (node:fs, better-sqlite3) is Node's to find.
  const bundleRequire = Object.assign((spec: string) => (spec.startsWith('./') ? load(spec.slice(2)) : nodeRequire(spec)), {
    resolve: nodeRequire.resolve,
    cache: nodeRequire.cache,
    main: undefined,
    extensions: nodeRequire.extensions,
  }) as NodeJS.Require;
  const load = (name: string): unknown => {
    const known = modules.get(name);
    if (known) return known.exports;
    const key = keys[name];
    if (key === undefined) throw new Error(`Bundle file "${name}" is not in ${join(dir, 'manifest.json')}: rebuild with scripts/build-cli`);
    const filename = join(dir, name);
    const source = readFileSync(filename, 'utf8');
    const cachedData = cache?.read(key);
    const script = new Script(`${WRAPPER}${source}\n})`, { filename, cachedData, columnOffset: -WRAPPER.length });
    if (cache && (cachedData === undefined || script.cachedDataRejected)) unsaved.push({ key, script });
    const module: Module = { exports: {} };
    modules.set(name, module);
    (script.runInThisContext() as Wrapped)(module.exports, bundleRequire, module, filename, dir);
    return module.exports;
  };
  return {
    load,
    saveCaches() {
      const made = unsaved.splice(0);
      for (const { key, script } of made) cache?.write(key, script.createCachedData());
      if (made.length > 0) cache?.prune();
    },
  };
}
