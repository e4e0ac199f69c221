import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
  it('unmounts many targets asked at once (gathered into few umount processes), stacked mounts included', async () => {
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
