import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@berth/testing';
import { directorySize } from './directory-size.js';

let dir: TempDir | undefined;
afterEach(() => dir?.remove());

describe('directorySize (moby pkg/directory.Size)', () => {
  it('sums file, symlink and device sizes, not directories, each inode once', async () => {
    dir = tempDir('dirsize-');
    mkdirSync(join(dir.path, 'etc/deep'), { recursive: true });
    writeFileSync(join(dir.path, 'a'), 'x'.repeat(10));
    writeFileSync(join(dir.path, 'etc/deep/b'), 'y'.repeat(2));
    writeFileSync(join(dir.path, 'empty'), '');
    linkSync(join(dir.path, 'a'), join(dir.path, 'etc/a-again'));
    symlinkSync('/etc/deep/b', join(dir.path, 'link')); // 11 bytes of target
    expect(await directorySize(dir.path)).toBe(10 + 2 + 11);
  });

  it('is 0 for a missing directory', async () => {
    expect(await directorySize('/nonexistent/berth-dir-size')).toBe(0);
  });
});
