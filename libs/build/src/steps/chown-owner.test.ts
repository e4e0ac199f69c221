import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chownOwner } from './copy-step.js';

const rootfs = mkdtempSync(join(tmpdir(), 'chown-owner-'));
mkdirSync(join(rootfs, 'etc'));
writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:100::/home/app:/bin/sh\n');
writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nusers:x:100:\nstaff:x:50:\n');
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

describe('COPY --chown owner (BuildKit rules)', () => {
  it.each([
    ['1234', { uid: 1234, gid: 1234 }],
    // A numeric uid with no group: gid = uid, even when passwd gives the uid another group.
    ['1000', { uid: 1000, gid: 1000 }],
    ['app', { uid: 1000, gid: 100 }],
    ['1234:55', { uid: 1234, gid: 55 }],
    ['app:staff', { uid: 1000, gid: 50 }],
    ['0', { uid: 0, gid: 0 }],
  ])('%s', async (chown, owner) => {
    expect(await chownOwner(rootfs, chown)).toEqual(owner);
  });

  it('refuses an unknown user name', async () => {
    await expect(chownOwner(rootfs, 'nobody-here')).rejects.toThrow('unable to find user nobody-here: no matching entries in passwd file');
  });
});
