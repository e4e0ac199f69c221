import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mountCall, mountHelper } from './mount-helper.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await mountHelper.umount(join(dir, 'target'), 2); // MNT_DETACH; nothing mounted when the test passed
    rmSync(dir, { recursive: true, force: true });
  }
});

const mounted = (target: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === target);

describe('mountCall', () => {
  it("maps mount(8)'s options to one mount(2) call, or none when mount(8) would do more", () => {
    const overlay = { type: 'overlay', source: 'overlay', options: ['lowerdir=1/fs:2/fs', 'upperdir=/u', 'workdir=/w'], cwd: '/root' };
    expect(mountCall(overlay, '/t')).toEqual({ source: 'overlay', target: '/t', type: 'overlay', flags: 0, data: 'lowerdir=1/fs:2/fs,upperdir=/u,workdir=/w', cwd: '/root' });
    expect(mountCall({ type: 'overlay', source: 'overlay', options: ['lowerdir=/a:/b', 'ro'] }, '/t')).toMatchObject({ flags: 1, data: 'lowerdir=/a:/b' });
    expect(mountCall({ type: 'bind', source: '/s', options: ['rbind', 'rw'] }, '/t')).toEqual({ source: '/s', target: '/t', type: '', flags: 0x5000, data: '', cwd: undefined });
    expect(mountCall({ type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', 'size=65536k'] }, '/t')).toMatchObject({ flags: 14, data: 'mode=1777,size=65536k' });
    // A read-only bind is a bind then a remount; an unknown flag is mount(8)'s to interpret.
    expect(mountCall({ type: 'bind', source: '/s', options: ['rbind', 'ro'] }, '/t')).toBeUndefined();
    expect(mountCall({ type: 'tmpfs', source: 'x', options: ['strictatime'] }, '/t')).toBeUndefined();
    expect(mountCall({ type: 'tmpfs', source: 'x', options: [] }, '/t\tx')).toBeUndefined();
  });
});

describe('mountHelper', () => {
  it('mounts and unmounts with one call each, relative to the cwd given, and answers errno for a bad call', async () => {
    expect(mountHelper.available).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'berth-mount-helper-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'target'));
    const target = join(dir, 'target');
    // `target` relative to `cwd`: the kernel resolves it against the helper's working directory.
    expect(await mountHelper.mount({ source: 'x', target: 'target', type: 'tmpfs', flags: 14, data: 'size=1m', cwd: dir })).toBeUndefined();
    expect(mounted(target)).toBe(true);
    expect(await mountHelper.umount(target)).toBeUndefined();
    expect(mounted(target)).toBe(false);
    expect(await mountHelper.umount(target)).toEqual({ errno: 22, message: 'Invalid argument' });
    expect(await mountHelper.mount({ source: 'x', target: join(dir, 'missing'), type: 'tmpfs', flags: 0, data: '' })).toEqual({ errno: 2, message: 'No such file or directory' });
  });
});
