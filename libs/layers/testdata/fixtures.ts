import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tarBuffer, type TarHeader } from '../src/index.js';

/** Test fixtures: layer tars written entry by entry, with the header fields a test needs. */
export type FixtureEntry = Partial<Omit<TarHeader, 'name' | 'mtime' | 'xattrs'>> & {
  name: string;
  mtime?: Date;
  content?: string | Buffer;
  /** Extra PAX records: `SCHILY.xattr.<name>` only (extended attributes, UTF-8 text). */
  pax?: Record<string, string>;
};

/** A tar (uncompressed) of `entries`, in order; `trailing` zero bytes appended after the end marker. */
export async function makeTar(entries: FixtureEntry[], trailing = 0): Promise<Buffer> {
  const tar = await tarBuffer(
    entries.map(({ content, pax, mtime, ...header }) => {
      const xattrs = new Map<string, Buffer>();
      for (const [key, value] of Object.entries(pax ?? {})) {
        if (!key.startsWith('SCHILY.xattr.')) throw new Error(`fixture PAX record "${key}": only SCHILY.xattr.* is supported`);
        xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(value));
      }
      const body = content === undefined ? undefined : Buffer.from(content);
      const type = header.type ?? 'file';
      return {
        header: { ...header, type, mtime: (mtime ?? new Date(1_700_000_000_000)).getTime() / 1000, xattrs, size: type === 'file' ? (body?.length ?? 0) : 0 },
        body: type === 'file' ? (body ?? Buffer.alloc(0)) : undefined,
      };
    }),
  );
  return Buffer.concat([tar, Buffer.alloc(trailing)]);
}

export const streamOf = (data: Buffer): Readable => Readable.from([data]);

/** A scratch directory under the OS temp dir; `cleanup` removes every one made. */
export function scratch(): { dir: (prefix?: string) => string; cleanup: () => void } {
  const dirs: string[] = [];
  return {
    dir: (prefix = 'berth-layers-') => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    cleanup: () => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })),
  };
}

/** All extended attributes of one file (symlinks not followed), as name → hex. */
export function xattrsOf(path: string): Record<string, string> {
  const out = execFileSync('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', path]).toString();
  const result: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([^#=][^=]*)=0x([0-9a-f]*)$/.exec(line);
    if (m) result[m[1]] = m[2];
  }
  return result;
}

/**
 * Everything a layer must preserve about a tree, path by path (dir mtimes in whole seconds, as
 * layers keep them); hardlinked files are told apart by which first path shares their inode.
 */
export function describeTree(root: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(root, path);
      const st = lstatSync(full);
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'block';
      const sameAs = st.nlink > 1 && !st.isDirectory() ? inodes.get(st.ino) : undefined;
      if (st.nlink > 1 && !st.isDirectory() && sameAs === undefined) inodes.set(st.ino, path);
      out[path] = {
        type,
        mode: (st.mode & 0o7777).toString(8),
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
        rdev: st.rdev,
        sameAs,
        content: type === 'file' ? readFileSync(full).toString('base64') : type === 'symlink' ? readlinkSync(full) : undefined,
        xattrs: xattrsOf(full),
      };
      if (type === 'dir') walk(path);
    }
  };
  walk('');
  return out;
}
