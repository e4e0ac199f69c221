import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@berth/testing';
import { mountStubs } from './mount-stubs.js';

let dir: TempDir | undefined;
afterEach(() => dir?.remove());

describe('mountStubs', () => {
  it('names the /etc mountpoint stubs, and /etc when nothing else in it changed', async () => {
    dir = tempDir('stubs-');
    mkdirSync(join(dir.path, 'etc'));
    for (const f of ['hostname', 'hosts', 'resolv.conf']) writeFileSync(join(dir.path, 'etc', f), '');
    expect(await mountStubs(dir.path)).toEqual(['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'etc']);
    writeFileSync(join(dir.path, 'etc/motd'), 'hello');
    expect(await mountStubs(dir.path)).toEqual(['etc/hostname', 'etc/hosts', 'etc/resolv.conf']);
  });

  it('is empty for an upper dir without them', async () => {
    dir = tempDir('stubs-');
    mkdirSync(join(dir.path, 'etc'));
    writeFileSync(join(dir.path, 'etc/motd'), 'hello');
    expect(await mountStubs(dir.path)).toEqual([]);
  });
});
