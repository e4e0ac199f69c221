import { lstatSync } from 'node:fs';
import { chmod, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDockerignore } from '@berth/dockerfile';
import { tempDir, type TempDir } from '@berth/testing';
import { checkContextPath, listContext, lstatFields, lstatFromBinding } from './context-files.js';

let dir: TempDir;

beforeEach(async () => {
  dir = tempDir('berth-filesync-');
  await mkdir(join(dir.path, 'logs', 'keep'), { recursive: true });
  await writeFile(join(dir.path, 'logs', 'a.log'), 'a');
  await writeFile(join(dir.path, 'logs', 'keep', 'b.log'), 'bb');
  await writeFile(join(dir.path, 'Dockerfile'), 'FROM scratch\n');
  await symlink('Dockerfile', join(dir.path, 'link'));
});

afterEach(() => dir.remove());

describe('listContext', () => {
  it('lists parents before children, honours .dockerignore exceptions and keeps what the builder reads', async () => {
    const files = await listContext(dir.path, { patterns: parseDockerignore('logs\n!logs/keep\nDockerfile\n'), keep: ['Dockerfile'] });
    expect(files.map((f) => [f.path, f.type, f.size, f.linkname])).toEqual([
      ['Dockerfile', 'file', 13, undefined],
      ['link', 'symlink', 0, 'Dockerfile'],
      ['logs/keep', 'dir', 0, undefined],
      ['logs/keep/b.log', 'file', 2, undefined],
    ]);
    expect(files.every((f) => f.mode <= 0o7777 && f.mtimeMs > 0)).toBe(true);
  });
});

describe('lstatFields', () => {
  it("reads Node's binding on this Node, and gives lstatSync's mode, size and mtimeMs for files, directories and links", async () => {
    expect(lstatFromBinding).toBe(true);
    await chmod(join(dir.path, 'logs', 'a.log'), 0o4751);
    // A time with nanoseconds that a millisecond float cannot hold exactly: both must round alike.
    await utimes(join(dir.path, 'logs', 'keep', 'b.log'), 1_700_000_000.123456, 1_700_000_000.987654);
    for (const rel of ['Dockerfile', 'link', 'logs', 'logs/a.log', 'logs/keep/b.log']) {
      const path = join(dir.path, rel);
      const st = lstatSync(path);
      expect(lstatFields(path), rel).toEqual({ mode: st.mode, size: st.size, mtimeMs: st.mtimeMs });
    }
  });

  it('throws what lstatSync throws', () => {
    for (const rel of ['missing', 'Dockerfile/below']) {
      const path = join(dir.path, rel);
      let expected: NodeJS.ErrnoException | undefined;
      try {
        lstatSync(path);
      } catch (err) {
        expected = err as NodeJS.ErrnoException;
      }
      expect(() => lstatFields(path)).toThrow(expected!.message);
      try {
        lstatFields(path);
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe(expected!.code);
      }
    }
  });
});

describe('checkContextPath', () => {
  it('accepts clean relative paths only', () => {
    expect(checkContextPath('a/b.txt')).toBe('a/b.txt');
    for (const good of ['a', '.a', '..a', 'a..', 'a/.b/..c', 'a\\b', 'x/...']) expect(checkContextPath(good)).toBe(good);
    for (const bad of ['', '.', '..', '/', '/etc/passwd', '../x', 'a/../../x', 'a/..', 'a//b', 'a/./b', 'a/.', 'a/']) {
      expect(() => checkContextPath(bad)).toThrow(`Invalid context path "${bad}": expected a clean relative path`);
    }
  });
});
