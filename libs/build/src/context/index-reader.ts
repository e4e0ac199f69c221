import { lstat, readdir, readlink } from 'node:fs/promises';
import { sep } from 'node:path';
import type { IndexEntry } from './context-store.js';
import { type ChecksumMemo, type CopyEntry, fileDigest, type TreeReader } from './copy-files.js';

/**
 * A TreeReader over a synced context: what is under `dir` is answered from its index (types,
 * modes, sizes, links, content digests), so a COPY of an unchanged context checksums without
 * reading a file. The directory itself, and anything the index does not know, come from disk.
 * With `checksums` (the synced context's, kept while its tree does not change), a checksum of
 * entries all inside `dir` is made once and then looked up.
 */
export function indexReader(dir: string, index: Map<string, IndexEntry>, checksums?: Map<string, string>): TreeReader {
  const children = new Map<string, string[]>();
  for (const path of index.keys()) {
    const slash = path.lastIndexOf('/');
    const parent = slash < 0 ? '' : path.slice(0, slash);
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push(path.slice(slash + 1));
  }
  const rel = (path: string) => (path === dir ? '' : path.startsWith(dir + sep) ? path.slice(dir.length + 1) : undefined);
  const entry = (path: string) => {
    const r = rel(path);
    return r ? index.get(r) : undefined;
  };
  return {
    ...(checksums ? { checksums: checksumMemo(checksums, (path) => path === dir || rel(path) !== undefined) } : {}),
    async lstat(path) {
      const e = entry(path);
      if (!e) return lstat(path);
      return {
        mode: e.mode,
        size: e.size,
        uid: 0,
        gid: 0,
        rdev: 0,
        isFile: () => e.type === 'file',
        isDirectory: () => e.type === 'dir',
        isSymbolicLink: () => e.type === 'symlink',
      };
    },
    async readdir(path) {
      const r = rel(path);
      if (r === undefined || (r !== '' && !index.has(r))) return readdir(path);
      return [...(children.get(r) ?? [])];
    },
    async readlink(path) {
      return entry(path)?.linkname ?? readlink(path);
    },
    async digest(path, size) {
      return entry(path)?.digest ?? fileDigest(path, size);
    },
  };
}

/** More distinct COPY sources than any Dockerfile has: past it the memo starts over (entries out of date never hit anyway). */
const MAX_CHECKSUMS = 256;

function checksumMemo(checksums: Map<string, string>, inTree: (path: string) => boolean): ChecksumMemo {
  // Heredoc files and downloads live outside the tree, under a new name each build: not kept.
  const key = (entries: readonly CopyEntry[], withOwner: boolean) =>
    entries.every((e) => inTree(e.path)) ? JSON.stringify([withOwner, entries.map((e) => [e.path, e.name])]) : undefined;
  return {
    get(entries, withOwner) {
      const k = key(entries, withOwner);
      return k === undefined ? undefined : checksums.get(k);
    },
    set(entries, withOwner, checksum) {
      const k = key(entries, withOwner);
      if (k === undefined) return;
      if (checksums.size >= MAX_CHECKSUMS) checksums.clear();
      checksums.set(k, checksum);
    },
  };
}
