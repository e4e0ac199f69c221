import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@berth/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { openCodeCache } from './code-cache.js';

const KEY = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const dirs: Array<{ remove(): void }> = [];
const scratch = () => {
  const d = tempDir('berth-code-cache-');
  dirs.push(d);
  return d.path;
};
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

describe('the CLI code cache store', () => {
  it('makes its directory 0700 and reads back what it wrote', () => {
    const dir = join(scratch(), 'cache', 'cli');
    const cache = openCodeCache(dir)!;
    expect(cache).toBeDefined();
    cache.write(KEY, Buffer.from('compiled'));
    expect(cache.read(KEY)?.toString()).toBe('compiled');
    expect(cache.read(OTHER)).toBeUndefined();
    const [file] = readdirSync(dir);
    expect(file).toMatch(new RegExp(`^${KEY}-v8-.+\\.bin$`));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, file!)).mode & 0o777).toBe(0o600);
  });

  it('is not used in a directory others may enter or write, or through a symbolic link', () => {
    const root = scratch();
    const open = join(root, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    expect(openCodeCache(open)).toBeUndefined();
    const real = join(root, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(root, 'link'));
    expect(openCodeCache(join(root, 'link'))).toBeUndefined();
    expect(openCodeCache(real)).toBeDefined();
  });

  it('ignores a file of another key, a cut one, and one others could have written (V8 rejects a damaged one: chunk-loader.test.ts)', () => {
    const dir = join(scratch(), 'cli');
    const cache = openCodeCache(dir)!;
    cache.write(KEY, Buffer.from('compiled code'));
    const [name] = readdirSync(dir);
    const file = join(dir, name!);
    const good = readFileSync(file);

    // Another bundle file's cache under this one's name.
    writeFileSync(file, Buffer.concat([good.subarray(0, 8), Buffer.from(OTHER), good.subarray(8 + 64)]));
    expect(cache.read(KEY)).toBeUndefined();

    // Cut short: no payload left.
    writeFileSync(file, good.subarray(0, 8 + 64));
    expect(cache.read(KEY)).toBeUndefined();

    // Intact but group-writable, or someone else's.
    writeFileSync(file, good);
    expect(cache.read(KEY)?.toString()).toBe('compiled code');
    chmodSync(file, 0o620);
    expect(cache.read(KEY)).toBeUndefined();
    chmodSync(file, 0o600);
    if (process.geteuid?.() === 0) {
      chownSync(file, 65534, 65534);
      expect(cache.read(KEY)).toBeUndefined();
      chownSync(file, 0, 0);
    }
    expect(cache.read(KEY)?.toString()).toBe('compiled code');
  });

  it('refuses a key that is not a SHA-256 (it names a file)', () => {
    const cache = openCodeCache(join(scratch(), 'cli'))!;
    expect(() => cache.write('../../etc/x', Buffer.from('x'))).toThrow('Code cache key "../../etc/x" is not a SHA-256');
  });

  it('prunes the oldest files beyond its size', () => {
    const dir = join(scratch(), 'cli');
    const cache = openCodeCache(dir)!;
    const keys = ['1', '2', '3'].map((c) => c.repeat(64));
    keys.forEach((key, i) => {
      cache.write(key, Buffer.alloc(1000, i));
      const file = join(dir, readdirSync(dir).find((f) => f.startsWith(key))!);
      utimesSync(file, 1000 + i, 1000 + i); // oldest first
    });
    cache.prune(2500);
    expect(keys.map((key) => cache.read(key) !== undefined)).toEqual([false, true, true]);
    cache.prune(100_000);
    expect(readdirSync(dir)).toHaveLength(2);
  });
});
