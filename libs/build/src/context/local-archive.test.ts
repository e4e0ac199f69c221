import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { extractArchive, isTarArchive } from './local-archive.js';

const dir = mkdtempSync(join(tmpdir(), 'local-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('isTarArchive', () => {
  writeFileSync(join(dir, 'inner.txt'), 'inside\n');
  execFileSync('tar', ['-C', dir, '-cf', join(dir, 'a.tar'), 'inner.txt']);
  execFileSync('tar', ['-C', dir, '-czf', join(dir, 'a.tar.gz'), 'inner.txt']);
  execFileSync('tar', ['-C', dir, '-cJf', join(dir, 'a.tar.xz'), 'inner.txt']);
  execFileSync('tar', ['-C', dir, '-cjf', join(dir, 'a.tar.bz2'), 'inner.txt']);
  writeFileSync(join(dir, 'notes.txt'), 'just text\n'.repeat(100));
  writeFileSync(join(dir, 'notes.txt.gz'), gzipSync('just text\n'.repeat(100)));
  execFileSync('sh', ['-c', `xz -kc ${join(dir, 'notes.txt')} > ${join(dir, 'notes.txt.xz')}; bzip2 -kc ${join(dir, 'notes.txt')} > ${join(dir, 'notes.txt.bz2')}`]);
  // Starts like gzip, then is not.
  writeFileSync(join(dir, 'broken.gz'), Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('garbage'.repeat(100))]));

  it.each(['a.tar', 'a.tar.gz', 'a.tar.xz', 'a.tar.bz2'])('%s is a tar archive', async (name) => {
    expect(await isTarArchive(join(dir, name))).toBe(true);
  });

  it.each(['notes.txt', 'notes.txt.gz', 'notes.txt.xz', 'notes.txt.bz2', 'broken.gz'])('%s is not', async (name) => {
    expect(await isTarArchive(join(dir, name))).toBe(false);
  });

  it('extracts a compressed tar', async () => {
    for (const name of ['a.tar.gz', 'a.tar.xz']) {
      const target = mkdtempSync(join(dir, 'out-'));
      await extractArchive(join(dir, name), target);
      expect(await readFile(join(target, 'inner.txt'), 'utf8')).toBe('inside\n');
    }
  });
});
