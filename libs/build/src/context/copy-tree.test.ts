import { lstat, mkdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@berth/testing';
import { copyTree } from './copy-tree.js';

let dir: TempDir;
let src: string;
let rootfs: string;

beforeEach(async () => {
  dir = tempDir('berth-copy-tree-');
  src = join(dir.path, 'src');
  rootfs = join(dir.path, 'rootfs');
  await mkdir(join(src, 'deep'), { recursive: true });
  await mkdir(rootfs);
  await writeFile(join(src, 'a.txt'), 'a\n', { mode: 0o640 });
  await writeFile(join(src, 'deep', 'b.sh'), 'b\n', { mode: 0o755 });
  await symlink('a.txt', join(src, 'link'));
  await utimes(join(src, 'deep'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  await utimes(join(src, 'a.txt'), new Date('2021-01-01T00:00:00Z'), new Date('2021-01-01T00:00:00Z'));
});

afterEach(() => dir.remove());

describe('copyTree', () => {
  it('copies a directory with modes, mtimes and symlinks, the directories’ times set after their files', async () => {
    await copyTree(src, rootfs, '/app', {}, false);
    expect(await readFile(join(rootfs, 'app', 'a.txt'), 'utf8')).toBe('a\n');
    expect((await lstat(join(rootfs, 'app', 'a.txt'))).mode & 0o7777).toBe(0o640);
    expect((await lstat(join(rootfs, 'app', 'a.txt'))).mtime.toISOString()).toBe('2021-01-01T00:00:00.000Z');
    expect((await lstat(join(rootfs, 'app', 'deep', 'b.sh'))).mode & 0o7777).toBe(0o755);
    expect((await lstat(join(rootfs, 'app', 'deep'))).mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
    expect(await readlink(join(rootfs, 'app', 'link'))).toBe('a.txt');
  });

  it('applies --chmod and an owner to everything copied', async () => {
    await copyTree(src, rootfs, '/app', { mode: 0o600, owner: { uid: 1000, gid: 1001 } }, false);
    for (const path of ['app', 'app/a.txt', 'app/deep', 'app/deep/b.sh']) {
      const st = await lstat(join(rootfs, path));
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o600, 1000, 1001]);
    }
  });

  it('replaces what is there, and follows a symlink of the image inside the root, never out of it', async () => {
    // The image has /app/deep -> /data (absolute: resolved inside rootfs) and a file where a.txt goes.
    await mkdir(join(rootfs, 'app'));
    await mkdir(join(rootfs, 'data'));
    await symlink('/data', join(rootfs, 'app', 'deep'));
    await writeFile(join(rootfs, 'app', 'a.txt'), 'old\n');
    await mkdir(join(rootfs, 'app', 'link'));
    await writeFile(join(rootfs, 'app', 'link', 'x'), 'x');
    await copyTree(src, rootfs, '/app', {}, true);
    expect(await readFile(join(rootfs, 'app', 'a.txt'), 'utf8')).toBe('a\n');
    expect(await readFile(join(rootfs, 'data', 'b.sh'), 'utf8')).toBe('b\n');
    expect((await lstat(join(rootfs, 'app', 'deep'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(rootfs, 'app', 'link'))).toBe('a.txt');
  });

  it('copies many files (more than run at once) into a fresh directory', async () => {
    for (let i = 0; i < 100; i++) await writeFile(join(src, 'deep', `f${i}`), `${i}`);
    await copyTree(src, rootfs, '/many', {}, false);
    for (let i = 0; i < 100; i += 17) expect(await readFile(join(rootfs, 'many', 'deep', `f${i}`), 'utf8')).toBe(`${i}`);
  });
});
