import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

/** A bundle of two CommonJS files as scripts/bundle-cli.mjs writes them, and its manifest's keys. */
function bundle(): { dir: string; keys: Record<string, string> } {
  const d = tempDir('berth-chunk-loader-');
  dirs.push(d);
  const files = {
    'main.js': 'const b = require("./b.js"); const { join } = require("node:path"); exports.answer = () => b.twice(21) + join("/", "x").length; exports.strict = (function () { return this; })() === undefined;',
    'b.js': 'exports.twice = (n) => n * 2;',
  };
  const keys: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(d.path, name), text);
    keys[name] = createHash('sha256').update(text).digest('hex');
  }
  return { dir: d.path, keys };
}

const ROOT = resolve(import.meta.dirname, '../../../..');

/**
 * One CLI run in a process of its own (V8 keeps what it compiled for the rest of a process, so a
 * second load in this one would not read the cache): loads main.js of `dir` with the cache in
 * `cacheDir`, stores the caches, and reports the answer and which keys it wrote.
 */
function run(dir: string, keys: Record<string, string>, cacheDir: string): { answer: number; writes: string[] } {
  const script = `
    const { chunkLoader } = await import(${JSON.stringify(join(import.meta.dirname, 'chunk-loader.ts'))});
    const { openCodeCache } = await import(${JSON.stringify(join(import.meta.dirname, 'code-cache.ts'))});
    const cache = openCodeCache(${JSON.stringify(cacheDir)});
    const writes = [];
    const loader = chunkLoader(${JSON.stringify(dir)}, { keys: ${JSON.stringify(keys)}, cache: { read: (k) => cache.read(k), write: (k, d) => (writes.push(k), cache.write(k, d)), prune: () => cache.prune() } });
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
  it('runs the files as strict CommonJS, stores their caches once, and compiles from them in later runs', () => {
    const { dir, keys } = bundle();
    const cache = counted(openCodeCache(join(scratch(), 'cli'))!);
    const a = chunkLoader(dir, { keys, cache });
    const main = a.load('main.js') as { answer(): number; strict: boolean };
    expect(main.answer()).toBe(44);
    expect(main.strict).toBe(true);
    expect(a.load('main.js')).toBe(main); // run once
    a.saveCaches();
    expect(cache.writes.sort()).toEqual([keys['b.js'], keys['main.js']].sort());

    // Other processes: the first stores both caches, the next finds them good (nothing to store).
    const cacheDir = join(scratch(), 'cli');
    expect(run(dir, keys, cacheDir)).toEqual({ answer: 44, writes: expect.arrayContaining([keys['main.js'], keys['b.js']]) });
    expect(run(dir, keys, cacheDir)).toEqual({ answer: 44, writes: [] });
  }, 30_000);

  it('replaces a cache V8 rejects, and runs without a cache at all', () => {
    const { dir, keys } = bundle();
    const cacheDir = join(scratch(), 'cli');
    openCodeCache(cacheDir)!.write(keys['b.js']!, Buffer.from('not V8 code at all'));
    expect(run(dir, keys, cacheDir)).toEqual({ answer: 44, writes: expect.arrayContaining([keys['b.js']]) });
    expect(run(dir, keys, cacheDir)).toEqual({ answer: 44, writes: [] });

    const none = chunkLoader(dir, { keys, cache: undefined });
    expect((none.load('main.js') as { answer(): number }).answer()).toBe(44);
    none.saveCaches();
  });

  it('names a file missing from the manifest', () => {
    const { dir, keys } = bundle();
    const loader = chunkLoader(dir, { keys: { 'main.js': keys['main.js']! }, cache: undefined });
    expect(() => loader.load('main.js')).toThrow(`Bundle file "b.js" is not in ${join(dir, 'manifest.json')}: rebuild with scripts/build-cli`);
  });
});
