import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFiles } from '@berth/testing';
import { describeTree, scratch, streamOf, xattrsOf } from '../testdata/fixtures.js';
import { applyLayer, packDirectory } from './index.js';

const tmp = scratch();
afterEach(() => tmp.cleanup());

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const typeByLetter: Record<string, string> = { '-': 'file', d: 'directory', l: 'symlink', h: 'link', c: 'character-device', b: 'block-device', p: 'fifo' };

/** Names and types as an independent reader (GNU tar's verbose listing) sees them. */
async function entriesOf(tar: Buffer): Promise<string[]> {
  const listing = execFileSync('tar', ['--quoting-style=literal', '-tvf', '-'], { input: tar }).toString();
  return listing
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(\S)\S*\s+\S+\s+\S+\s+\S+\s+\S+\s(.*)$/.exec(line);
      if (!m) throw new Error(`unexpected tar listing line: ${line}`);
      const type = typeByLetter[m[1]!] ?? m[1]!;
      const [name, target] = type === 'symlink' ? m[2]!.split(' -> ') : type === 'link' ? m[2]!.split(' link to ') : [m[2]!];
      return `${type} ${name}${target ? ` -> ${target}` : ''}`;
    });
}

/** A tree with every kind of thing a layer must keep. */
function richTree(): string {
  const dir = tmp.dir();
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  writeFileSync(join(dir, 'usr/bin/tool'), 'tool');
  chownSync(join(dir, 'usr/bin/tool'), 1000, 1001);
  chmodSync(join(dir, 'usr/bin/tool'), 0o4711);
  linkSync(join(dir, 'usr/bin/tool'), join(dir, 'usr/bin/tool-alias'));
  symlinkSync('tool', join(dir, 'usr/bin/rel-link'));
  symlinkSync('/nowhere', join(dir, 'dangling'));
  mkdirSync(join(dir, 'tmp'));
  chmodSync(join(dir, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'big'), Buffer.alloc(70_000, 'z'));
  writeFileSync(join(dir, `${'long-name-'.repeat(20)}ü`), 'pax path');
  execFileSync('mknod', [join(dir, 'null'), 'c', '1', '3']);
  execFileSync('mknod', [join(dir, 'fifo'), 'p']);
  // A file capability is binary: it must survive as raw bytes.
  execFileSync('setfattr', ['-n', 'security.capability', '-v', '0x0100000202000000000000000000000000000000', join(dir, 'usr/bin/tool')]);
  execFileSync('setfattr', ['-n', 'user.note', '-v', 'x\ny', join(dir, 'big')]);
  for (const [path, seconds] of [['usr/bin', 1_500_000_000], ['usr', 1_400_000_000], ['tmp', 1_300_000_000], ['big', 1_200_000_000]] as const) {
    utimesSync(join(dir, path), seconds, seconds);
  }
  return dir;
}

describe('packDirectory', () => {
  it('round-trips a tree through applyLayer, keeping everything', async () => {
    const source = richTree();
    const { stream, diffId } = packDirectory(source);
    const tar = await collect(stream);
    expect(await diffId).toBe(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    const target = tmp.dir();
    expect((await applyLayer(target, streamOf(tar))).diffId).toBe(await diffId);
    expect(describeTree(target)).toEqual(describeTree(source));
    expect(xattrsOf(join(target, 'usr/bin/tool'))['security.capability']).toBe('0100000202000000000000000000000000000000');
  });

  it('is deterministic, sorted, readable by other tar readers and optionally gzipped', async () => {
    const source = richTree();
    const first = await collect(packDirectory(source).stream);
    const gzipped = packDirectory(source, { gzip: true });
    const unzipped = gunzipSync(await collect(gzipped.stream));
    expect(unzipped.equals(first)).toBe(true);
    expect(await gzipped.diffId).toBe(`sha256:${createHash('sha256').update(first).digest('hex')}`);
    expect(await entriesOf(first)).toEqual([
      'file big',
      'symlink dangling -> /nowhere',
      'fifo fifo',
      `file ${'long-name-'.repeat(20)}ü`,
      'character-device null',
      'directory tmp/',
      'directory usr/',
      'directory usr/bin/',
      'symlink usr/bin/rel-link -> tool',
      'file usr/bin/tool',
      'link usr/bin/tool-alias -> usr/bin/tool',
    ]);
  });

  it('turns overlay whiteouts and opaque dirs into .wh. entries and back', async () => {
    const upper = tmp.dir();
    execFileSync('mknod', [join(upper, 'deleted'), 'c', '0', '0']);
    mkdirSync(join(upper, 'opaque'));
    writeFileSync(join(upper, 'opaque/new'), 'n');
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'opaque')]);
    const tar = await collect(packDirectory(upper, { upper: true }).stream);
    expect(await entriesOf(tar)).toEqual(['file .wh.deleted', 'directory opaque/', 'file opaque/.wh..wh..opq', 'file opaque/new']);

    const asOverlay = tmp.dir();
    await applyLayer(asOverlay, streamOf(tar));
    // Whiteout devices carry no metadata worth keeping: compare the rest, and the device's kind.
    const { deleted: unpackedWhiteout, ...unpacked } = describeTree(asOverlay);
    const { deleted: originalWhiteout, ...original } = describeTree(upper);
    expect(unpacked).toEqual(original);
    expect(unpackedWhiteout).toMatchObject({ type: 'char', rdev: 0 });
    expect(originalWhiteout).toMatchObject({ type: 'char', rdev: 0 });

    const flat = tmp.dir();
    writeFileSync(join(flat, 'deleted'), 'old');
    mkdirSync(join(flat, 'opaque'));
    writeFileSync(join(flat, 'opaque/old'), 'old');
    await applyLayer(flat, streamOf(tar), { whiteouts: 'remove' });
    expect(existsSync(join(flat, 'deleted'))).toBe(false);
    expect(readdirSync(join(flat, 'opaque'))).toEqual(['new']);
    expect(xattrsOf(join(flat, 'opaque'))).toEqual({});
  });

  it('packs a plain directory without treating devices as whiteouts', async () => {
    const dir = tmp.dir();
    execFileSync('mknod', [join(dir, 'zero-device'), 'c', '0', '0']);
    const tar = await collect(packDirectory(dir).stream);
    expect(await entriesOf(tar)).toEqual(['character-device zero-device']);
    expect(lstatSync(join(dir, 'zero-device')).isCharacterDevice()).toBe(true);
  });

  it('rejects the diffId when the directory cannot be read', async () => {
    const { stream, diffId } = packDirectory(join(tmp.dir(), 'missing'));
    await expect(collect(stream)).rejects.toThrow(/ENOENT/);
    await expect(diffId).rejects.toThrow(/ENOENT/);
  });
});

describe('packDirectory exclude', () => {
  it('leaves out the paths given, a directory with everything below it', async () => {
    const dir = tmp.dir();
    await writeFiles(dir, { 'etc/hosts': '', 'etc/skip/inner': 'x', 'etc/passwd': 'root', kept: 'k' });
    const tar = await collect(packDirectory(dir, { exclude: ['etc/hosts', 'etc/skip'] }).stream);
    expect(await entriesOf(tar)).toEqual(['directory etc/', 'file etc/passwd', 'file kept']);
  });
});

describe('packDirectory include/rename and applyLayer copy options (docker cp)', () => {
  it('packs one entry of a directory under a new name, and extracts it with .wh. names kept, an owner forced and dir/non-dir overwrites refused', async () => {
    const dir = tmp.dir();
    await writeFiles(dir, { 'site/css/a.css': 'a', 'site/.wh.kept': 'not a whiteout', other: 'left out' });
    const tar = await collect(packDirectory(dir, { include: 'site', rename: 'www' }).stream);
    expect(await entriesOf(tar)).toEqual(['directory www/', 'file www/.wh.kept', 'directory www/css/', 'file www/css/a.css']);
    const target = tmp.dir();
    await applyLayer(target, streamOf(tar), { whiteouts: 'none', owner: { uid: 4321, gid: 1234 } });
    expect(readdirSync(join(target, 'www')).sort()).toEqual(['.wh.kept', 'css']);
    expect([lstatSync(join(target, 'www/css/a.css')).uid, lstatSync(join(target, 'www/css/a.css')).gid]).toEqual([4321, 1234]);
    const blocked = tmp.dir();
    writeFileSync(join(blocked, 'www'), 'a file where the archive has a directory');
    await expect(applyLayer(blocked, streamOf(tar), { whiteouts: 'none', noOverwriteDirNonDir: true })).rejects.toThrow(
      'cannot overwrite non-directory "/www" with directory "www/"',
    );
  });
});
