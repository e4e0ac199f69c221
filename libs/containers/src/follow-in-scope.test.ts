import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followInScope } from './follow-in-scope.js';

describe('followInScope', () => {
  let root: string;
  const hostOf = (p: string) => join(root, p);
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-scope-'));
    await mkdir(join(root, 'etc'));
    await symlink('/etc', join(root, 'conf'));
    await symlink('../../../../etc', join(root, 'etc/up'));
    await symlink('loop-b', join(root, 'loop-a'));
    await symlink('loop-a', join(root, 'loop-b'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('follows links with the root as /, and never climbs above it', async () => {
    expect(await followInScope('/conf/up/x', { hostOf })).toEqual({ path: '/etc/x', exists: false });
    expect(await followInScope('/conf', { hostOf })).toEqual({ path: '/etc', exists: true });
    expect(await followInScope('/conf', { hostOf, followLast: false })).toEqual({ path: '/conf', exists: true });
  });

  it('refuses a link loop, quoting the path', async () => {
    await expect(followInScope('/loop-a', { hostOf })).rejects.toThrow('Cannot resolve "/loop-a": too many levels of symbolic links');
  });
});
