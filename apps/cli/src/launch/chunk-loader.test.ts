import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir, type TempDir } from '@berth/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { chunkLoader } from './chunk-loader.js';
import { type CodeCache, openCodeCache } from './code-cache.js';

const dirs: TempDir[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function scratch(): string {
  const d = tempDir('berth-chunk-cache-');
  dirs.push(d);
  return d.path;
}

const ROOT = resolve(import.meta.dirname, '../../../..');

type Packer = (modules: Iterable<[string, string]>) => string;
const { packSource } = (await import(pathToFileURL(join(ROOT, 'scripts/cli-pack.mjs')).href)) as { packSource: Packer };

interface Bundle {
  dir: string;
  packs: Record<string, string>;
  modules: Record<string, string>;
  nodeRequire: NodeJS.Require;
}

/**
 * A bundle of three CommonJS modules in two packs as scripts/bundle-cli.mjs writes them: main.js
 * alone, as run-main.js and what it imports; b.js and c.js in a pack of their own, as a command's.
 * c.js is in both (a module several commands use), so the one of the first pack loaded is the one
 * that runs.
 */
function bundle(): Bundle {
  const d = tempDir('berth-chunk-loader-');
  dirs.push(d);
  const main = 'const b = require("./b.js"); const { join } = require("node:path"); exports.answer = () => b.twice(21) + join("/", "x").length; exports.strict = (function () { return this; })() === undefined; exports.runs = () => require("./c.js").runs;';
  const files = {
    'main.pack.js': [['main.js', main], ['c.js', 'exports.runs = (globalThis.cRuns = (globalThis.cRuns ?? 0) + 1); exports.from = "main";']],
    'b.pack.js': [['b.js', 'exports.twice = (n) => n * 2; exports.micro = "µs";'], ['c.js', 'exports.from = "b";']],
  } satisfies Record<string, Array<[string, string]>>;
  const packs: Record<string, string> = {};
  for (const [name, modules] of Object.entries(files)) {
    const text = packSource(modules);
    writeFileSync(join(d.path, name), text);
    packs[name] = createHash('sha256').update(text).digest('hex');
  }
  // The require main.cjs would pass (launch.ts): Node's, as seen from the bundle's directory.
  const nodeRequire = createRequire(join(d.path, 'main.cjs'));
  return { dir: d.path, packs, modules: { 'main.js': 'main.pack.js', 'b.js': 'b.pack.js', 'c.js': 'b.pack.js' }, nodeRequire };
}

/**
 * One CLI run in a process of its own (V8 keeps what it compiled for the rest of a process, so a
 * second load in this one would not read the cache): loads main.js of `dir` with the cache in
 * `cacheDir`, stores the caches, and reports the answer and which keys it wrote.
 */
function run({ dir, packs, modules }: Bundle, cacheDir: string): { answer: number; writes: string[] } {
  const script = `
    const { chunkLoader } = await import(${JSON.stringify(join(import.meta.dirname, 'chunk-loader.ts'))});
    const { openCodeCache } = await import(${JSON.stringify(join(import.meta.dirname, 'code-cache.ts'))});
    const cache = openCodeCache(${JSON.stringify(cacheDir)});
    const writes = [];
    const { createRequire } = await import('node:module');
    const nodeRequire = createRequire(${JSON.stringify(join(dir, 'main.cjs'))});
    const loader = chunkLoader(${JSON.stringify(dir)}, { packs: ${JSON.stringify(packs)}, modules: ${JSON.stringify(modules)}, nodeRequire, cache: { read: (k) => cache.read(k), write: (k, d) => (writes.push(k), cache.write(k, d)), prune: () => cache.prune() } });
    const answer = loader.load('main.js').answer();
    loader.saveCaches();
    console.log(JSON.stringify({ answer, writes }));`;
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
  });
  if (r.status !== 0) throw new Error(`loader run failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { answer: number; writes: string[] };
}

/** `cache` with its writes counted. */
function counted(cache: CodeCache): CodeCache & { writes: string[] } {
  const writes: string[] = [];
  return { writes, read: (key) => cache.read(key), write: (key, data) => (writes.push(key), cache.write(key, data)), prune: () => cache.prune() };
}

describe('loading the CLI bundle through the code cache', () => {
  it('runs the modules as strict CommonJS, each once, stores each pack\'s cache once, and compiles from them in later runs', () => {
    const b = bundle();
    const { packs } = b;
    const cache = counted(openCodeCache(join(scratch(), 'cli'))!);
    const a = chunkLoader(b.dir, { ...b, cache });
    const main = a.load('main.js') as { answer(): number; strict: boolean; runs(): number };
    expect(main.answer()).toBe(44);
    expect(main.strict).toBe(true);
    expect(a.load('main.js')).toBe(main); // run once
    // c.js: main.pack.js's, loaded first, though the manifest names b.pack.js (loaded since, for b.js).
    expect(main.runs()).toBe(1);
    expect(a.load('c.js')).toMatchObject({ from: 'main' });
    expect(main.runs()).toBe(1);
    expect(a.load('b.js')).toMatchObject({ micro: 'µs' }); // written \u00b5s in the pack
    a.saveCaches();
    expect(cache.writes.sort()).toEqual([packs['b.pack.js'], packs['main.pack.js']].sort());

    // Other processes: the first stores both caches, the next finds them good (nothing to store).
    const cacheDir = join(scratch(), 'cli');
    expect(run(b, cacheDir)).toEqual({ answer: 44, writes: expect.arrayContaining([packs['main.pack.js'], packs['b.pack.js']]) });
    expect(run(b, cacheDir)).toEqual({ answer: 44, writes: [] });
  }, 30_000);

  it('replaces a cache V8 rejects, and runs without a cache at all', () => {
    const b = bundle();
    const cacheDir = join(scratch(), 'cli');
    openCodeCache(cacheDir)!.write(b.packs['b.pack.js']!, Buffer.from('not V8 code at all'));
    expect(run(b, cacheDir)).toEqual({ answer: 44, writes: expect.arrayContaining([b.packs['b.pack.js']]) });
    expect(run(b, cacheDir)).toEqual({ answer: 44, writes: [] });

    // A good cache damaged on disk (bytes of its compiled code changed): V8 finds its checksum wrong
    // (openCodeCache has it check: --verify-snapshot-checksum), and the next run writes it again.
    const file = readdirSync(cacheDir).map((name) => join(cacheDir, name)).find((f) => f.includes(b.packs['main.pack.js']!))!;
    const bytes = readFileSync(file);
    for (let at = bytes.length - 64; at < bytes.length; at += 8) bytes[at]! ^= 0x5a;
    writeFileSync(file, bytes);
    expect(run(b, cacheDir)).toEqual({ answer: 44, writes: [b.packs['main.pack.js']] });
    expect(run(b, cacheDir)).toEqual({ answer: 44, writes: [] });

    const none = chunkLoader(b.dir, { ...b, cache: undefined });
    expect((none.load('main.js') as { answer(): number }).answer()).toBe(44);
    none.saveCaches();
  });

  it('names a module or a pack missing from the manifest', () => {
    const b = bundle();
    const noModule = chunkLoader(b.dir, { ...b, modules: { 'main.js': 'main.pack.js' }, cache: undefined });
    expect(() => noModule.load('main.js')).toThrow(`Bundle module "b.js" is not in ${join(b.dir, 'manifest.json')}: rebuild with scripts/build-cli`);
    const noPack = chunkLoader(b.dir, { ...b, packs: { 'main.pack.js': b.packs['main.pack.js']! }, cache: undefined });
    expect(() => noPack.load('main.js')).toThrow(`Bundle pack "b.pack.js" is not in ${join(b.dir, 'manifest.json')}: rebuild with scripts/build-cli`);
  });
});
