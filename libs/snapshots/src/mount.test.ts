import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mountAll, mountPoints, unmount } from './mount.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    for (const m of (await mountPoints()).filter((p) => p.target.startsWith(`${dir}/`)).reverse()) await unmount(m.target);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('unmount', () => {
  it('unmounts many targets asked at once (through the mount helper, or gathered into few umount processes), stacked mounts included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-umount-'));
    dirs.push(dir);
    const targets = Array.from({ length: 12 }, (_, i) => join(dir, `t${i}`));
    for (const t of targets) {
      mkdirSync(t);
      await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], t);
    }
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], targets[3]!); // two on one target
    const notMounted = join(dir, 'plain');
    mkdirSync(notMounted);
    await Promise.all([...targets, notMounted, targets[5]!].map((t) => unmount(t)));
    expect((await mountPoints()).filter((m) => m.target.startsWith(`${dir}/`))).toEqual([]);
  });
});

describe('mountAll', () => {
  it('mounts an overlay with lowerdirs relative to its cwd (through the mount helper, libs/subprocess), and says why a mount failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-mount-helper-'));
    dirs.push(dir);
    for (const d of ['1/fs', '2/fs', 'upper', 'work', 'target']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, '1/fs/a'), 'top');
    writeFileSync(join(dir, '2/fs/a'), 'bottom');
    writeFileSync(join(dir, '2/fs/b'), 'b');
    const target = join(dir, 'target');
    await mountAll([{ type: 'overlay', source: 'overlay', options: ['lowerdir=1/fs:2/fs', `upperdir=${dir}/upper`, `workdir=${dir}/work`], cwd: dir }], target);
    expect((await mountPoints()).filter((m) => m.target === target).map((m) => m.type)).toEqual(['overlay']);
    expect(readFileSync(join(target, 'a'), 'utf8') + readFileSync(join(target, 'b'), 'utf8')).toBe('topb');
    await unmount(target);
    expect((await mountPoints()).some((m) => m.target === target)).toBe(false);
    await expect(mountAll([{ type: 'tmpfs', source: 'x', options: ['size=1m'] }], join(dir, 'missing'))).rejects.toThrow(
      `Cannot mount tmpfs on "${dir}/missing": No such file or directory`,
    );
  });
});
