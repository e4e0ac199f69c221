import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InvalidArgumentError } from '@berth/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { type FixtureEntry, makeTar, scratch, streamOf, xattrsOf } from '../testdata/fixtures.js';
import { applyLayer } from './index.js';

const tmp = scratch();
afterEach(() => tmp.cleanup());

const T = 1_700_000_000; // seconds; makeTar's default mtime
const apply = async (target: string, entries: FixtureEntry[], options?: Parameters<typeof applyLayer>[2]) =>
  applyLayer(target, streamOf(await makeTar(entries)), options);

describe('applyLayer', () => {
  it('unpacks every file type with owners, modes, mtimes and xattrs', async () => {
    const target = tmp.dir();
    await apply(target, [
      { name: 'bin/', type: 'directory', mode: 0o755, mtime: new Date(1_000_000_000_000) },
      { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 2000 },
      { name: 'bin/same', type: 'link', linkname: 'bin/tool' },
      { name: 'bin/sh', type: 'symlink', linkname: '/usr/bin/dash' },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'shared/', type: 'directory', mode: 0o2775, gid: 50 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660, gid: 6 },
      { name: 'run/pipe', type: 'fifo', mode: 0o620 },
      { name: 'etc/conf', content: 'x', pax: { 'SCHILY.xattr.user.comment': 'hello' } },
      { name: 'sneaky/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
    ]);
    expect(xattrsOf(join(target, 'sneaky'))).toEqual({});
    const tool = lstatSync(join(target, 'bin/tool'));
    expect(readFileSync(join(target, 'bin/tool'), 'utf8')).toBe('#!/bin/sh\n');
    expect([tool.mode & 0o7777, tool.uid, tool.gid, tool.mtimeMs / 1000, tool.nlink]).toEqual([0o4755, 1000, 2000, T, 2]);
    expect(lstatSync(join(target, 'bin/same')).ino).toBe(tool.ino);
    expect(readlinkSync(join(target, 'bin/sh'))).toBe('/usr/bin/dash');
    // Directory mtimes are set after their contents were written.
    expect(lstatSync(join(target, 'bin')).mtimeMs).toBe(1_000_000_000_000);
    expect(lstatSync(join(target, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(join(target, 'shared')).mode & 0o7777).toBe(0o2775);
    const devNull = lstatSync(join(target, 'dev/null'));
    expect([devNull.isCharacterDevice(), devNull.rdev, devNull.mode & 0o777]).toEqual([true, 0x103, 0o666]);
    const loop = lstatSync(join(target, 'dev/loop0'));
    expect([loop.isBlockDevice(), loop.rdev, loop.gid]).toEqual([true, 0x700, 6]);
    expect(lstatSync(join(target, 'run/pipe')).isFIFO()).toBe(true);
    expect(xattrsOf(join(target, 'etc/conf'))).toEqual({ 'user.comment': Buffer.from('hello').toString('hex') });
  });

  it('detects gzip and computes the diffId over every uncompressed byte, padding included', async () => {
    const tar = await makeTar([{ name: 'a.txt', content: 'a' }], 10 * 1024);
    const expected = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
    const plain = await applyLayer(tmp.dir(), streamOf(tar));
    const gzipTarget = tmp.dir();
    const gzipped = await applyLayer(gzipTarget, streamOf(gzipSync(tar)));
    expect(plain).toEqual({ diffId: expected, size: tar.length });
    expect(gzipped).toEqual({ diffId: expected, size: tar.length });
    expect(readFileSync(join(gzipTarget, 'a.txt'), 'utf8')).toBe('a');
  });

  it('streams large files in small chunks', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 7);
    const tar = await makeTar([{ name: 'big', content: big }]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < tar.length; i += 1000) chunks.push(tar.subarray(i, i + 1000));
    const target = tmp.dir();
    const { Readable } = await import('node:stream');
    await applyLayer(target, Readable.from(chunks));
    expect(readFileSync(join(target, 'big')).equals(big)).toBe(true);
  });

  it('replaces what is in the way, as docker does, and merges directories', async () => {
    const target = tmp.dir();
    await apply(target, [
      { name: 'dir-to-file/', type: 'directory' },
      { name: 'dir-to-file/child', content: 'c' },
      { name: 'file-to-dir', content: 'f' },
      { name: 'link-to-dir', type: 'symlink', linkname: '/etc' },
      { name: 'merged/', type: 'directory', mode: 0o700 },
      { name: 'merged/old', content: 'old' },
    ]);
    await apply(target, [
      { name: 'dir-to-file', content: 'now a file' },
      { name: 'file-to-dir/', type: 'directory' },
      { name: 'file-to-dir/x', content: 'x' },
      { name: 'link-to-dir/', type: 'directory' },
      { name: 'merged/', type: 'directory', mode: 0o755 },
      { name: 'merged/new', content: 'new' },
    ]);
    expect(readFileSync(join(target, 'dir-to-file'), 'utf8')).toBe('now a file');
    expect(readFileSync(join(target, 'file-to-dir/x'), 'utf8')).toBe('x');
    expect(lstatSync(join(target, 'link-to-dir')).isDirectory()).toBe(true);
    expect(readdirSync(join(target, 'merged')).sort()).toEqual(['new', 'old']);
    expect(lstatSync(join(target, 'merged')).mode & 0o777).toBe(0o755);
  });

  it('turns whiteouts into overlay whiteouts by default', async () => {
    const target = tmp.dir();
    writeFileSync(join(target, 'gone'), 'replaced by the whiteout');
    await apply(target, [
      { name: '.wh.gone', content: '' },
      { name: 'etc/.wh.passwd', content: '' },
      { name: 'opaque/', type: 'directory' },
      { name: 'opaque/.wh..wh..opq', content: '' },
      { name: 'opaque/kept', content: 'k' },
    ]);
    for (const path of ['gone', 'etc/passwd']) {
      const st = lstatSync(join(target, path));
      expect([st.isCharacterDevice(), st.rdev]).toEqual([true, 0]);
    }
    expect(existsSync(join(target, '.wh.gone'))).toBe(false);
    expect(xattrsOf(join(target, 'opaque'))).toEqual({ 'trusted.overlay.opaque': '79' });
    expect(readdirSync(join(target, 'opaque'))).toEqual(['kept']);
  });

  it('deletes whited-out paths in remove mode, keeping what the same layer adds', async () => {
    const target = tmp.dir();
    await apply(target, [
      { name: 'a/', type: 'directory' },
      { name: 'a/old', content: 'o' },
      { name: 'a/sub/', type: 'directory' },
      { name: 'a/sub/old', content: 'o' },
      { name: 'b', content: 'b' },
      { name: 'c/', type: 'directory' },
      { name: 'c/old', content: 'o' },
    ]);
    await apply(
      target,
      [
        { name: '.wh.b', content: '' },
        { name: 'a/sub/new', content: 'n' }, // before the opaque marker: must survive it
        { name: 'a/.wh..wh..opq', content: '' },
        { name: 'a/new', content: 'n' },
        { name: 'c/mine', content: 'm' },
        { name: 'c/.wh.mine', content: '' }, // same layer: does not apply
        { name: '.wh.nothing-there', content: '' },
      ],
      { whiteouts: 'remove' },
    );
    expect(existsSync(join(target, 'b'))).toBe(false);
    expect(readdirSync(join(target, 'a')).sort()).toEqual(['new', 'sub']);
    expect(readdirSync(join(target, 'a/sub'))).toEqual(['new']);
    expect(readdirSync(join(target, 'c')).sort()).toEqual(['mine', 'old']);
  });

  it('creates implied parent directories with the attributes they have in the lowers', async () => {
    const lower = tmp.dir();
    mkdirSync(join(lower, 'tmp'));
    chmodSync(join(lower, 'tmp'), 0o1777);
    const target = tmp.dir();
    await apply(target, [{ name: 'tmp/x', content: 'x' }, { name: 'new/y', content: 'y' }], { lowers: [lower] });
    expect(statSync(join(target, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(target, 'tmp')).mtimeMs).toBeCloseTo(statSync(join(lower, 'tmp')).mtimeMs, 0);
    expect(statSync(join(target, 'new')).mode & 0o7777).toBe(0o755);
  });

  it('drops a leading slash, as docker and containerd do', async () => {
    const target = tmp.dir();
    await apply(target, [{ name: '/abs/file', content: 'inside' }, { name: 'ok', type: 'symlink', linkname: '/etc/passwd' }]);
    expect(readFileSync(join(target, 'abs/file'), 'utf8')).toBe('inside');
    expect(readlinkSync(join(target, 'ok'))).toBe('/etc/passwd');
  });

  it('refuses a truncated or corrupt archive', async () => {
    const tar = await makeTar([{ name: 'a', content: 'x'.repeat(2000) }]);
    await expect(applyLayer(tmp.dir(), streamOf(tar.subarray(0, 1024)))).rejects.toThrow(
      'Invalid layer tar: unexpected end of data at byte 1024',
    );
    const corrupt = Buffer.from(tar);
    corrupt[0] ^= 0xff;
    await expect(applyLayer(tmp.dir(), streamOf(corrupt))).rejects.toThrow(InvalidArgumentError);
  });
});

describe('applyLayer path safety', () => {
  /** A target inside a parent dir, plus a sibling "outside" dir that must stay untouched. */
  const setup = () => {
    const base = tmp.dir();
    const target = join(base, 'root');
    const outside = join(base, 'outside');
    mkdirSync(target);
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'secret');
    return { target, outside, base };
  };
  const untouched = (base: string, outside: string) => {
    expect(readdirSync(base).sort()).toEqual(['outside', 'root']);
    expect(readdirSync(outside)).toEqual(['secret']);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
  };

  it.each([
    ['../outside/x', [{ name: '../outside/x', content: 'evil' }]],
    ['a/../../outside/x', [{ name: 'a/../../outside/x', content: 'evil' }]],
    ['/../outside/x', [{ name: '/../outside/x', content: 'evil' }]],
    ['..', [{ name: '..', type: 'directory' as const, mode: 0o777 }]],
    ['../outside/.wh.secret', [{ name: '../outside/.wh.secret', content: '' }]],
  ])('refuses "%s", which climbs out with ..', async (name, entries) => {
    const { target, outside, base } = setup();
    for (const whiteouts of ['overlay', 'remove'] as const) {
      const err = await apply(target, entries as FixtureEntry[], { whiteouts }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toBe(`Layer entry "${name}" escapes the target directory`);
    }
    untouched(base, outside);
  });

  it('refuses to write through a symlink, even one the same layer made', async () => {
    const { target, outside, base } = setup();
    await expect(
      apply(target, [
        { name: 'evil', type: 'symlink', linkname: outside },
        { name: 'evil/file', content: 'evil' },
      ]),
    ).rejects.toThrow(`Layer entry "evil/file" escapes the target directory through the symlink "evil"`);
    symlinkSync('../outside', join(target, 'rel'));
    await expect(apply(target, [{ name: 'rel/secret', content: 'evil' }])).rejects.toThrow(
      'Layer entry "rel/secret" escapes the target directory through the symlink "rel"',
    );
    await expect(apply(target, [{ name: 'rel/.wh.secret', content: '' }], { whiteouts: 'remove' })).rejects.toThrow(
      'Layer entry "rel/.wh.secret" escapes the target directory through the symlink "rel"',
    );
    await expect(apply(target, [{ name: 'rel/.wh..wh..opq', content: '' }], { whiteouts: 'remove' })).rejects.toThrow(
      'Layer entry "rel/.wh..wh..opq" escapes the target directory through the symlink "rel"',
    );
    untouched(base, outside);
  });

  it('forgets deferred work under a directory the layer replaces with a symlink', async () => {
    const { target, outside, base } = setup();
    await expect(
      apply(target, [
        { name: 'd/', type: 'directory' },
        { name: 'd/secret', content: 'x', pax: { 'SCHILY.xattr.user.evil': 'y' } },
        { name: 'd/.wh.other', content: '' },
        { name: 'd', type: 'symlink', linkname: outside },
        { name: 'd/x', content: 'evil' },
      ]),
    ).rejects.toThrow('Layer entry "d/x" escapes the target directory through the symlink "d"');
    const target2 = join(base, 'root');
    await apply(target2, [
      { name: 'e/', type: 'directory' },
      { name: 'e/secret', content: 'x', pax: { 'SCHILY.xattr.user.evil': 'y' } },
      { name: 'e/.wh.other', content: '' },
      { name: 'e', type: 'symlink', linkname: outside },
    ]);
    expect(xattrsOf(join(outside, 'secret'))).toEqual({});
    untouched(base, outside);
  });

  it('replaces a symlink that is in the way instead of following it', async () => {
    const { target, outside, base } = setup();
    symlinkSync(join(outside, 'secret'), join(target, 'file'));
    await apply(target, [{ name: 'file', content: 'mine' }]);
    expect(readFileSync(join(target, 'file'), 'utf8')).toBe('mine');
    untouched(base, outside);
  });

  it('refuses hardlinks to anything outside the target', async () => {
    const { target, outside, base } = setup();
    await expect(apply(target, [{ name: 'h', type: 'link', linkname: '../outside/secret' }])).rejects.toThrow(
      'Layer entry "h" escapes the target directory',
    );
    await expect(apply(target, [{ name: 'h', type: 'link', linkname: '/etc/passwd' }])).rejects.toThrow(
      'Layer entry "h" is a hardlink to "/etc/passwd", which is neither in the layer nor in the target directory',
    );
    symlinkSync(outside, join(target, 'out'));
    await expect(apply(target, [{ name: 'h', type: 'link', linkname: 'out/secret' }])).rejects.toThrow(
      'Layer entry "h" escapes the target directory through the symlink "out"',
    );
    expect(lstatSync(join(outside, 'secret')).nlink).toBe(1);
    expect(existsSync(join(target, 'h'))).toBe(false);
    untouched(base, outside);
  });
});
