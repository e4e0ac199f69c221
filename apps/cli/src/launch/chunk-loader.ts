import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import type { CodeCache } from './code-cache.js';

/**
 * Loads the CLI bundle's modules (CommonJS, made by scripts/bundle-cli.mjs) through `vm.Script`, the
 * only compiler API of Node 20 that takes and makes V8 code caches. The modules come in packs: one
 * file per pack, compiled at once (from its cache when there is a good one), which defines the
 * function of each module it holds; a module runs when it is first required. `saveCaches()` (at
 * exit) stores the cache of each pack that had none, with every function this run compiled.
 */
export interface ChunkLoader {
  /** The exports of bundle module `name` (e.g. `run-main.js`), run once. */
  load(name: string): unknown;
  saveCaches(): void;
}

interface Module {
  exports: unknown;
}

type Wrapped = (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;

/**
 * A pack as bundle-cli.mjs writes it: `(function (define) {"use strict"; define("a.js", function
 * (exports, require, module, __filename, __dirname) {…}); …})`, strict as the ES modules the modules
 * were made from; the loader calls it with its `define`. Pre-wrapped at build time, so the source is
 * compiled as read (no copy of it with a wrapper around).
 */
type Pack = (define: (name: string, fn: Wrapped) => void) => void;

export interface ChunkLoaderOptions {
  /** Each pack's SHA-256, from the build's manifest.json: the key of its code cache. */
  packs: Record<string, string>;
  /** The pack that holds each module. */
  modules: Record<string, string>;
  /** undefined: no cache (compile every pack from its source). */
  cache: CodeCache | undefined;
  /**
   * Node's require as seen from `dir` (main.cjs's own: launch.ts passes it), for what the modules
   * take from Node or node_modules (node:fs, better-sqlite3). Not createRequire: node:module, with
   * the ES module loader it loads, cost every command ~0.4 ms.
   */
  nodeRequire: NodeJS.Require;
  /** Told each pack's name before the pack is read; may throw, and the load fails with that. */
  beforePack?: (pack: string) => void;
}

/** The loader of the bundle packs in `dir`. */
export function chunkLoader(dir: string, { packs, modules: homes, cache, nodeRequire, beforePack }: ChunkLoaderOptions): ChunkLoader {
  const modules = new Map<string, Module>();
  const defined = new Map<string, Wrapped>();
  const loaded = new Set<string>();
  const unsaved: Array<{ key: string; script: Script }> = [];
  // `./x.js` is another bundle module; anything else (node:fs, better-sqlite3) is Node's to find.
  const bundleRequire = Object.assign((spec: string) => (spec.startsWith('./') ? load(spec.slice(2)) : nodeRequire(spec)), {
    resolve: nodeRequire.resolve,
    cache: nodeRequire.cache,
    main: undefined,
    extensions: nodeRequire.extensions,
  }) as NodeJS.Require;
  // A module already defined by an earlier pack keeps that definition (it may have run).
  const define = (name: string, fn: Wrapped) => {
    if (!defined.has(name)) defined.set(name, fn);
  };
  const loadPack = (pack: string) => {
    const key = packs[pack];
    if (key === undefined || loaded.has(pack)) throw new Error(`Bundle pack "${pack}" is not in ${join(dir, 'manifest.json')}: rebuild with scripts/build-cli`);
    beforePack?.(pack);
    loaded.add(pack);
    const filename = join(dir, pack);
    const source = readFileSync(filename, 'utf8');
    const cachedData = cache?.read(key);
    const script = new Script(source, { filename, cachedData });
    if (cache && (cachedData === undefined || script.cachedDataRejected)) unsaved.push({ key, script });
    (script.runInThisContext() as Pack)(define);
  };
  const load = (name: string): unknown => {
    const known = modules.get(name);
    if (known) return known.exports;
    let fn = defined.get(name);
    if (fn === undefined) {
      const pack = homes[name];
      if (pack === undefined) throw new Error(`Bundle module "${name}" is not in ${join(dir, 'manifest.json')}: rebuild with scripts/build-cli`);
      loadPack(pack);
      fn = defined.get(name);
      if (fn === undefined) throw new Error(`Bundle pack "${pack}" does not define "${name}": rebuild with scripts/build-cli`);
    }
    const module: Module = { exports: {} };
    modules.set(name, module);
    fn(module.exports, bundleRequire, module, join(dir, name), dir);
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
