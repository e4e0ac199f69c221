import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratch } from '../testdata/fixtures.js';
import { listChanges } from './index.js';

const tmp = scratch();
afterEach(() => tmp.cleanup());

describe('listChanges', () => {
  it('reports added, changed and deleted paths like docker diff', async () => {
    const bottom = tmp.dir();
    mkdirSync(join(bottom, 'etc/conf.d'), { recursive: true });
    writeFileSync(join(bottom, 'etc/hosts'), '');
    writeFileSync(join(bottom, 'etc/conf.d/a'), '');
    writeFileSync(join(bottom, 'etc/conf.d/b'), '');
    writeFileSync(join(bottom, 'removed-below'), '');
    const top = tmp.dir();
    execFileSync('mknod', [join(top, 'removed-below'), 'c', '0', '0']); // a lower whiteout
    const upper = tmp.dir();
    mkdirSync(join(upper, 'etc/conf.d'), { recursive: true });
    writeFileSync(join(upper, 'etc/hosts'), 'changed');
    writeFileSync(join(upper, 'etc/conf.d/b'), 'kept in the opaque dir');
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'etc/conf.d')]);
    mkdirSync(join(upper, 'new/deep'), { recursive: true });
    writeFileSync(join(upper, 'new/deep/file'), '');
    execFileSync('mknod', [join(upper, 'etc/gone'), 'c', '0', '0']);
    writeFileSync(join(upper, 'removed-below'), 'recreated');

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
