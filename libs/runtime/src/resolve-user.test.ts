import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@berth/errors';
import { makeBusyboxRootfs } from './busybox-rootfs.js';
import { resolveUser, securePath } from './resolve-user.js';

let dir: string;
let rootfs: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-user-'));
  rootfs = join(dir, 'rootfs');
  await makeBusyboxRootfs(rootfs);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveUser', () => {
  it('resolves the empty user to root with its home', async () => {
    expect(await resolveUser(rootfs, '')).toEqual({ uid: 0, gid: 0, additionalGids: [0], home: '/root', name: 'root' });
  });

  it('resolves a name with its primary and supplementary groups', async () => {
    expect(await resolveUser(rootfs, 'app')).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 1001], home: '/home/app', name: 'app' });
  });

  it('resolves a known uid like its name', async () => {
    expect(await resolveUser(rootfs, '1000')).toMatchObject({ uid: 1000, gid: 1000, additionalGids: [1000, 1001], name: 'app' });
  });

  it('uses an unknown uid as is, with gid 0 and home /', async () => {
    expect(await resolveUser(rootfs, '4242')).toEqual({ uid: 4242, gid: 0, additionalGids: [0], home: '/' });
  });

  it('applies an explicit group by name or number: the only supplementary group, as Docker', async () => {
    expect(await resolveUser(rootfs, 'app:extra')).toEqual({ uid: 1000, gid: 1001, additionalGids: [1001], home: '/home/app', name: 'app' });
    expect(await resolveUser(rootfs, '1000:5555')).toMatchObject({ uid: 1000, gid: 5555, additionalGids: [5555] });
    expect(await resolveUser(rootfs, '77:88')).toEqual({ uid: 77, gid: 88, additionalGids: [88], home: '/' });
  });

  it("rejects unknown names with Docker's text", async () => {
    await expect(resolveUser(rootfs, 'app2')).rejects.toThrow(InvalidArgumentError);
    await expect(resolveUser(rootfs, 'app2')).rejects.toThrow('unable to find user app2: no matching entries in passwd file');
    await expect(resolveUser(rootfs, 'app:nogroup')).rejects.toThrow('unable to find group nogroup: no matching entries in group file');
  });

  it('works without /etc/passwd for numeric users', async () => {
    await rm(join(rootfs, 'etc/passwd'));
    expect(await resolveUser(rootfs, '')).toEqual({ uid: 0, gid: 0, additionalGids: [0], home: '/' });
    expect(await resolveUser(rootfs, '5:6')).toEqual({ uid: 5, gid: 6, additionalGids: [6], home: '/' });
    await expect(resolveUser(rootfs, 'app')).rejects.toThrow('unable to find user app: no matching entries in passwd file');
  });

  it('never reads a file outside the rootfs through a symlink', async () => {
    // A host-side file that an escaping link would reach.
    await writeFile(join(dir, 'passwd'), 'evil:x:0:0::/:/bin/sh\n');
    await rm(join(rootfs, 'etc/passwd'));
    await symlink('../../passwd', join(rootfs, 'etc/passwd'));
    await expect(resolveUser(rootfs, 'evil')).rejects.toThrow('unable to find user evil');
    await mkdir(join(rootfs, 'data'));
    await writeFile(join(rootfs, 'data/passwd'), 'inside:x:7:7::/in:/bin/sh\n');
    await rm(join(rootfs, 'etc/passwd'));
    await symlink('/data/passwd', join(rootfs, 'etc/passwd'));
    expect(await resolveUser(rootfs, 'inside')).toMatchObject({ uid: 7, gid: 7, home: '/in' });
    expect(await securePath(rootfs, '/etc/passwd')).toBe(join(rootfs, 'data/passwd'));
  });
});
