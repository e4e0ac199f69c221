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

/** `keys`: each bundle file's SHA-256, from the build's manifest; `cache` undefined: none. */
export function chunkLoader(dir: string, keys: Record<string, string>, cache: CodeCache | undefined): ChunkLoader {
  const modules = new Map<string, Module>();
  const unsaved: Array<{ key: string; script: Script }> = [];
  const nodeRequire = createRequire(join(dir, 'main.cjs'));
  const requireFor = (): NodeJS.Require => {
    const req = ((spec: string) => (spec.startsWith('./') ? load(spec.slice(2)) : nodeRequire(spec))) as NodeJS.Require;
    return Object.assign(req, { resolve: nodeRequire.resolve, cache: nodeRequire.cache, main: undefined, extensions: nodeRequire.extensions });
  };
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
    (script.runInThisContext() as Wrapped)(module.exports, requireFor(), module, filename, dir);
    return module.exports;
  };
  return {
    load,
    saveCaches() {
      for (const { key, script } of unsaved.splice(0)) cache?.write(key, script.createCachedData());
    },
  };
}
