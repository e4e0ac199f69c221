import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { encodeHeader, END_OF_ARCHIVE, packDirectory, paddingOf, readTar } from '@berth/layers';

/**
 * The client half of `docker cp`: moby/go-archive's copy rules (copy.go), which decide from the
 * source and the destination what archive to send and where to extract it, so that `cp a b` acts
 * as `cp -a` does (a file onto a file renames it, a directory into a missing path takes its name,
 * `dir/.` copies the content). Errors carry go-archive's messages.
 */

/** moby's CopyInfo: what a path is, and the name its archive entries must take. */
export interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  rebaseName: string;
}

export class CopyError extends Error {}

const hasTrailingSeparator = (p: string) => p.endsWith('/');
const specifiesCurrentDir = (p: string) => basename(p) === '.' || p === '.' || p.endsWith('/.');
/** The path asserts a directory: `dir/` or `dir/.`. */
export const assertsDirectory = (p: string) => hasTrailingSeparator(p) || specifiesCurrentDir(p);

/** go-archive PreserveTrailingDotOrSeparator. */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  if (specifiesCurrentDir(original) && !specifiesCurrentDir(cleaned)) cleaned += cleaned.endsWith('/') ? '.' : '/.';
  if (hasTrailingSeparator(original) && !hasTrailingSeparator(cleaned)) cleaned += '/';
  return cleaned;
}

/** docker's resolveLocalPath: absolute, a trailing `/` or `/.` kept. */
export function resolveLocalPath(path: string): string {
  return preserveTrailingDotOrSeparator(resolve(path), path);
}

/** go-archive SplitPathDirEntry: `/a/b/` → [`/a`, `b`], `/a/.` → [`/a`, `.`]. */
export function splitPathDirEntry(path: string): [string, string] {
  let cleaned = posix.normalize(path);
  if (cleaned.length > 1) cleaned = cleaned.replace(/\/+$/, '');
  if (specifiesCurrentDir(path)) cleaned = `${cleaned === '/' ? '' : cleaned}/.`;
  return [dirname(cleaned), basename(cleaned) || '/'];
}

/** go-archive GetRebaseName. */
export function getRebaseName(path: string, resolved: string): [string, string] {
  let rebaseName = '';
  if (specifiesCurrentDir(path) && !specifiesCurrentDir(resolved)) resolved += '/.';
  if (hasTrailingSeparator(path) && !hasTrailingSeparator(resolved)) resolved += '/';
  if (basename(path) !== basename(resolved)) rebaseName = basename(path);
  return [resolved, rebaseName];
}

const errno = (err: unknown, op: string, path: string): CopyError => {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'ENOTDIR' ? 'not a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  return new CopyError(`${op} ${path}: ${reason}`);
};

/** go-archive CopyInfoSourcePath on the local filesystem. */
export function copyInfoSourcePath(path: string, followLink: boolean): CopyInfo {
  let resolvedPath: string;
  let rebaseName = '';
  if (followLink) {
    let real: string;
    try {
      real = realpathSync(path);
    } catch (err) {
      throw errno(err, 'lstat', path);
    }
    [resolvedPath, rebaseName] = getRebaseName(path, real);
  } else {
    const dir = path.slice(0, path.lastIndexOf('/') + 1) || '.';
    const base = path.slice(path.lastIndexOf('/') + 1);
    let realDir: string;
    try {
      realDir = realpathSync(dir);
    } catch (err) {
      throw errno(err, 'lstat', dir);
    }
    resolvedPath = `${realDir === '/' ? '' : realDir}/${base}`;
    if (hasTrailingSeparator(path) && basename(path) !== basename(resolvedPath)) rebaseName = basename(path);
  }
  let st;
  try {
    st = lstatSync(resolvedPath.replace(/\/\.?$/, '') || '/');
  } catch (err) {
    throw errno(err, 'lstat', resolvedPath);
  }
  if (assertsDirectory(resolvedPath) && !st.isDirectory()) throw new CopyError(`lstat ${resolvedPath}: not a directory`);
  return { path: resolvedPath, exists: true, isDir: st.isDirectory(), rebaseName };
}

/** go-archive CopyInfoDestinationPath on the local filesystem (a final symlink is followed). */
export function copyInfoDestinationPath(path: string): CopyInfo {
  const original = path;
  let st = lstatOrUndefined(path);
  for (let n = 0; st?.isSymbolicLink(); n++) {
    if (n > 10) throw new CopyError(`too many symlinks in ${original}`);
    let target = readlinkSync(path);
    if (!isAbsolute(target)) target = join(splitPathDirEntry(path)[0], target);
    path = target;
    st = lstatOrUndefined(path);
  }
  if (st) return { path, exists: true, isDir: st.isDirectory(), rebaseName: '' };
  const [parent] = splitPathDirEntry(path);
  let parentStat;
  try {
    parentStat = statSync(parent);
  } catch (err) {
    throw errno(err, 'stat', parent);
  }
  if (!parentStat.isDirectory()) throw new CopyError('not a directory');
  return { path, exists: false, isDir: false, rebaseName: '' };
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path.replace(/\/\.?$/, '') || '/');
  } catch {
    return undefined;
  }
}

/**
 * go-archive PrepareArchiveCopy: where to extract `content` and under which names.
 * @returns the directory to extract into and the (renamed) archive.
 */
export function prepareArchiveCopy(content: AsyncIterable<Buffer>, src: CopyInfo, dst: CopyInfo): { dstDir: string; archive: AsyncIterable<Buffer> } {
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  let [, srcBase] = splitPathDirEntry(src.path);
  if (src.rebaseName) srcBase = src.rebaseName;
  if (dst.exists && dst.isDir) return { dstDir: dst.path, archive: content };
  if (dst.exists && src.isDir) throw new CopyError('cannot copy directory');
  if (!dst.exists && !src.isDir && assertsDirectory(dst.path)) throw new CopyError('no such directory');
  return { dstDir, archive: rebaseArchiveEntries(content, srcBase, dstBase) };
}

/**
 * go-archive RebaseArchiveEntries: the first `oldBase` in each entry name (and hardlink target)
 * becomes `newBase`; a root (`/`) base is left alone.
 */
export async function* rebaseArchiveEntries(content: AsyncIterable<Buffer>, oldBase: string, newBase: string): AsyncGenerator<Buffer> {
  for await (const { header, body } of readTar(content)) {
    if (oldBase !== '/') {
      header.name = header.name.replace(oldBase, newBase);
      if (header.type === 'link') header.linkname = header.linkname.replace(oldBase, newBase);
    }
    yield encodeHeader(header);
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      yield chunk;
    }
    if (paddingOf(size) > 0) yield Buffer.alloc(paddingOf(size));
  }
  yield END_OF_ARCHIVE;
}

/** go-archive TarResource: a tar of one local path, its entry named after it (or `rebaseName`). */
export function tarResource(info: CopyInfo): Readable {
  const [dir, base] = splitPathDirEntry(info.path);
  const { stream, diffId } = packDirectory(dir, { include: base, ...(info.rebaseName ? { rename: info.rebaseName } : {}) });
  diffId.catch(() => {}); // only the stream matters; its errors reach the reader
  return stream;
}

/** The total size of regular files under a local path (docker's "Successfully copied" figure). */
export function localContentSize(path: string): number {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let total = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const s = lstatSync(join(dir, name));
      if (s.isDirectory()) walk(join(dir, name));
      else if (s.isFile()) total += s.size;
    }
  };
  walk(path);
  return total;
}
