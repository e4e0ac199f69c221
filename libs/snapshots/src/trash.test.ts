import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Trash } from './trash.js';

let base: string;
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('Trash', () => {
  it('deletes the trees handed in, in the background, and leaves what a symlink points at', async () => {
    base = mkdtempSync(join(tmpdir(), 'berth-trash-'));
    const keep = join(base, 'keep');
    mkdirSync(keep);
    writeFileSync(join(keep, 'f'), 'kept');
    const trees = ['t1', 't2'].map((name) => {
      const dir = join(base, name);
      mkdirSync(join(dir, 'a/b/c'), { recursive: true });
      writeFileSync(join(dir, 'a/b/c/f'), 'x');
      writeFileSync(join(dir, 'g'), 'y');
      mkdirSync(join(dir, 'ro'));
      chmodSync(join(dir, 'ro'), 0o500);
      symlinkSync(keep, join(dir, 'link'));
      return dir;
    });
    const file = join(base, 'file');
    writeFileSync(file, 'z');
    const trash = new Trash();
    for (const path of [...trees, file, join(base, 'missing')]) trash.discard(path);
    expect(trash.size).toBe(4);
    // Nothing is deleted before the caller's tick ends: the caller has answered by then.
    expect(trees.every((t) => existsSync(join(t, 'a/b/c/f')))).toBe(true);
    await trash.settled();
    expect(trash.size).toBe(0);
    expect([...trees, file].filter((p) => existsSync(p))).toEqual([]);
    expect(existsSync(join(keep, 'f'))).toBe(true);
  });
});
