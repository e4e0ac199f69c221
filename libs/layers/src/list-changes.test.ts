import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFiles } from '@berth/testing';
import { scratch } from '../testdata/fixtures.js';
import { listChanges } from './index.js';

const tmp = scratch();
afterEach(() => tmp.cleanup());

describe('listChanges', () => {
  it('reports added, changed and deleted paths like docker diff', async () => {
    const bottom = tmp.dir();
    await writeFiles(bottom, { 'etc/hosts': '', 'etc/conf.d/a': '', 'etc/conf.d/b': '', 'removed-below': '' });
    const top = tmp.dir();
    execFileSync('mknod', [join(top, 'removed-below'), 'c', '0', '0']); // a lower whiteout
    const upper = tmp.dir();
    await writeFiles(upper, { 'etc/hosts': 'changed', 'etc/conf.d/b': 'kept in the opaque dir' });
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'etc/conf.d')]);
    await writeFiles(upper, { 'new/deep/file': '', 'removed-below': 'recreated' });
    execFileSync('mknod', [join(upper, 'etc/gone'), 'c', '0', '0']);

    expect(await listChanges(upper, [top, bottom])).toEqual([
      { kind: 'C', path: '/etc' },
      { kind: 'C', path: '/etc/conf.d' },
      { kind: 'D', path: '/etc/conf.d/a' },
      { kind: 'C', path: '/etc/conf.d/b' },
      { kind: 'D', path: '/etc/gone' },
      { kind: 'C', path: '/etc/hosts' },
      { kind: 'A', path: '/new' },
      { kind: 'A', path: '/new/deep' },
      { kind: 'A', path: '/new/deep/file' },
      { kind: 'A', path: '/removed-below' },
    ]);
  });
});
