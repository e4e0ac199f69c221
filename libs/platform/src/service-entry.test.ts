import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceEntry } from './service-entry.js';

describe('serviceEntry', () => {
  const roots: string[] = [];
  afterEach(() => roots.splice(0).forEach((r) => rmSync(r, { recursive: true, force: true })));

  /** A repository root with a source file, a lockfile and (optionally) a bundle, with given ages in seconds. */
  function root(ages: { source: number; lock: number; bundle?: number }): string {
    const dir = mkdtempSync(join(tmpdir(), 'berth-entry-'));
    roots.push(dir);
    const files: Array<[string, number | undefined]> = [
      ['libs/x/src/x.ts', ages.source],
      ['package-lock.json', ages.lock],
      ['apps/registry/src/main.ts', ages.source],
      ['apps/registry/dist/main.mjs', ages.bundle],
    ];
    for (const [file, age] of files) {
      if (age === undefined) continue;
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), '');
      const t = new Date(Date.now() - age * 1000);
      utimesSync(join(dir, file), t, t);
    }
    return dir;
  }

  it('runs the bundle while it is newer than every source and the lockfile', () => {
    const dir = root({ source: 60, lock: 60, bundle: 10 });
    expect(serviceEntry(dir, 'apps/registry/src/main.ts', ['--lite-mode'])).toEqual([process.execPath, '--lite-mode', join(dir, 'apps/registry/dist/main.mjs')]);
  });

  it('runs the source through tsx when a source or the lockfile is newer, or there is no bundle', () => {
    const tsx = (dir: string) => [process.execPath, '--lite-mode', '--import', 'tsx', join(dir, 'apps/registry/src/main.ts')];
    for (const ages of [{ source: 5, lock: 60, bundle: 10 }, { source: 60, lock: 5, bundle: 10 }, { source: 60, lock: 60 }]) {
      const dir = root(ages);
      expect(serviceEntry(dir, 'apps/registry/src/main.ts', ['--lite-mode'])).toEqual(tsx(dir));
    }
  });
});
