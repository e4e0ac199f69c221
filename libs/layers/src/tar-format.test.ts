import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTar, scratch } from '../testdata/fixtures.js';
import { encodeHeader, END_OF_ARCHIVE, paddingOf, readTar, type TarHeader } from './index.js';

const tmp = scratch();
afterEach(() => tmp.cleanup());

async function read(tar: Buffer, chunkSize = 100): Promise<Array<TarHeader & { body: string }>> {
  const chunks = (async function* () {
    for (let i = 0; i < tar.length; i += chunkSize) yield tar.subarray(i, i + chunkSize);
  })();
  const out: Array<TarHeader & { body: string }> = [];
  for await (const { header, body } of readTar(chunks)) {
    const parts: Buffer[] = [];
    for await (const chunk of body) parts.push(chunk);
    out.push({ ...header, body: Buffer.concat(parts).toString() });
  }
  return out;
}

const header = (fields: Partial<TarHeader> & { name: string }): TarHeader => ({
  type: 'file',
  size: 0,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: 1_700_000_000,
  linkname: '',
  devmajor: 0,
  devminor: 0,
  xattrs: new Map(),
  ...fields,
});

describe('tar format', () => {
  it('round-trips names, ids and binary xattrs that need PAX', async () => {
    const longName = `${'d/'.repeat(150)}${'f'.repeat(120)}-ü`;
    const entries = [
      header({ name: longName, size: 3, uid: 4_000_000_000, gid: 3_000_000, xattrs: new Map([['security.capability', Buffer.from([0, 0xff, 0x0a, 0x3d])]]) }),
      header({ name: 'link', type: 'symlink', linkname: 'x'.repeat(300) }),
      header({ name: `${'p'.repeat(120)}/short`, size: 0 }), // fits ustar's prefix field
    ];
    const tar = Buffer.concat([
      encodeHeader(entries[0]),
      Buffer.from('abc'),
      Buffer.alloc(paddingOf(3)),
      encodeHeader(entries[1]),
      encodeHeader(entries[2]),
      END_OF_ARCHIVE,
    ]);
    expect(encodeHeader(entries[2]).length).toBe(512);
    const [first, second, third] = await read(tar, 7);
    expect(first).toMatchObject({ name: longName, size: 3, uid: 4_000_000_000, gid: 3_000_000, body: 'abc' });
    expect(first.xattrs.get('security.capability')).toEqual(Buffer.from([0, 0xff, 0x0a, 0x3d]));
    expect(second).toMatchObject({ name: 'link', type: 'symlink', linkname: 'x'.repeat(300) });
    expect(third.name).toBe(`${'p'.repeat(120)}/short`);
  });

  it('reads what GNU tar writes in gnu and posix formats', async () => {
    const dir = tmp.dir();
    const long = 'n'.repeat(150);
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', long), 'long');
    execFileSync('setfattr', ['-n', 'user.k', '-v', 'v', join(dir, 'src', long)]);
    for (const format of ['gnu', 'posix']) {
      const xattrs = format === 'posix' ? ['--xattrs', '--xattrs-include=*'] : [];
      const tar = execFileSync('tar', [...xattrs, `--format=${format}`, '-C', join(dir, 'src'), '-cf', '-', '.']);
      const entries = await read(tar);
      expect(entries.map((e) => [e.name, e.type, e.body])).toEqual([
        ['./', 'directory', ''],
        [`./${long}`, 'file', 'long'],
      ]);
      if (format === 'posix') expect(entries[1].xattrs.get('user.k')?.toString()).toBe('v');
    }
  });

  it('reads back the PAX path and extended attributes writeTar wrote', async () => {
    const tar = await makeTar([{ name: `${'é'.repeat(80)}/file`, content: 'x', pax: { 'SCHILY.xattr.user.a': 'b' } }]);
    const [entry] = await read(tar);
    expect(entry.name).toBe(`${'é'.repeat(80)}/file`);
    expect(entry.xattrs.get('user.a')?.toString()).toBe('b');
  });

  it('refuses unsupported entry types', async () => {
    const block = encodeHeader(header({ name: 'sparse' }));
    block.write('S', 156, 'latin1');
    let sum = 0;
    block.write('        ', 148, 'latin1');
    for (const byte of block) sum += byte;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    await expect(read(Buffer.concat([block, END_OF_ARCHIVE]))).rejects.toThrow(
      'Invalid layer tar: entry "sparse" has unsupported type flag "S"',
    );
  });
});
