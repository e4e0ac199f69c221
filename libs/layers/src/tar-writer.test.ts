import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratch } from '../testdata/fixtures.js';
import { readTarEntries, tarBuffer, writeTar } from './index.js';

const tmp = scratch();
afterEach(() => tmp.cleanup());

describe('writeTar', () => {
  it('writes what GNU tar extracts, and what readTar reads back with binary xattrs intact', async () => {
    const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe]);
    const stream = (async function* () {
      yield Buffer.from('hello ');
      yield Buffer.from('world');
    })();
    const tar = await tarBuffer([
      { header: { name: 'dir/', type: 'directory', mtime: 1_700_000_000 } },
      { header: { name: 'dir/small', mode: 0o600, xattrs: new Map([['security.capability', capability]]) }, body: Buffer.from('x') },
      { header: { name: 'dir/streamed', size: 11 }, body: stream },
      { header: { name: `dir/${'ü'.repeat(120)}` }, body: Buffer.from('long') },
      { header: { name: 'dir/link', type: 'symlink', linkname: 'small' } },
    ]);
    const dir = tmp.dir();
    execFileSync('tar', ['-C', dir, '-xf', '-'], { input: tar });
    expect(readFileSync(join(dir, 'dir/streamed'), 'utf8')).toBe('hello world');
    expect(readFileSync(join(dir, `dir/${'ü'.repeat(120)}`), 'utf8')).toBe('long');
    expect(statSync(join(dir, 'dir/small')).mode & 0o7777).toBe(0o600);
    expect(statSync(join(dir, 'dir')).mode & 0o7777).toBe(0o755);
    expect(readlinkSync(join(dir, 'dir/link'))).toBe('small');

    const entries = await readTarEntries(tar);
    expect(entries.map((e) => [e.header.name, e.header.type, e.body.toString()])).toEqual([
      ['dir/', 'directory', ''],
      ['dir/small', 'file', 'x'],
      ['dir/streamed', 'file', 'hello world'],
      [`dir/${'ü'.repeat(120)}`, 'file', 'long'],
      ['dir/link', 'symlink', ''],
    ]);
    expect(entries[1]!.header.xattrs.get('security.capability')).toEqual(capability);
  });

  it('refuses a streamed body whose size is not its header size', async () => {
    const short = (async function* () {
      yield Buffer.from('abc');
    })();
    await expect(tarBuffer([{ header: { name: 'f', size: 5 }, body: short }])).rejects.toThrow(
      'Cannot write "f" into a tar: its body has fewer than the 5 bytes of its header',
    );
    const chunks: Buffer[] = [];
    const long = (async function* () {
      yield Buffer.from('abcdef');
    })();
    await expect(
      (async () => {
        for await (const c of writeTar([{ header: { name: 'g', size: 2 }, body: long }])) chunks.push(c);
      })(),
    ).rejects.toThrow('its body has more than the 2 bytes of its header');
  });
});
