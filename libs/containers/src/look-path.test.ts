import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookPath, resolveInRoot } from './look-path.js';

describe('lookPath inside a rootfs', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-lookpath-'));
    await mkdir(join(root, 'bin'));
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await writeFile(join(root, 'bin/busybox'), '#!/bin/true\n');
    await chmod(join(root, 'bin/busybox'), 0o755);
    await symlink('/bin/busybox', join(root, 'bin/echo'));
    await symlink('../../bin/busybox', join(root, 'usr/bin/env'));
    await symlink('/../../../../etc/passwd', join(root, 'bin/escape'));
    await writeFile(join(root, 'bin/data'), 'x');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('finds commands through symlinks resolved inside the root', async () => {
    expect(await lookPath(root, 'echo', { env: [] })).toBe('/bin/echo');
    expect(await lookPath(root, 'env', { env: ['PATH=/usr/bin'] })).toBe('/usr/bin/env');
    expect(await lookPath(root, '/bin/echo', { env: [] })).toBe('/bin/echo');
    expect(await resolveInRoot(root, '/bin/escape')).toBeUndefined();
  });

  it("fails like runc: 127 for a missing command, 126 for one that cannot run", async () => {
    await expect(lookPath(root, 'nosuch', { env: [] })).rejects.toMatchObject({
      message: 'exec: "nosuch": executable file not found in $PATH',
      exitCode: 127,
    });
    await expect(lookPath(root, '/nosuch', { env: [] })).rejects.toMatchObject({
      message: 'exec: "/nosuch": stat /nosuch: no such file or directory',
      exitCode: 127,
    });
    await expect(lookPath(root, '/bin/data', { env: [] })).rejects.toMatchObject({
      message: 'exec: "/bin/data": permission denied',
      exitCode: 126,
    });
    await expect(lookPath(root, 'data', { env: ['PATH=/bin'] })).rejects.toMatchObject({ exitCode: 127 });
  });
});
