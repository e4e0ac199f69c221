import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createIgnoreMatcher, type IgnorePattern } from '@berth/dockerfile';
import { InvalidArgumentError } from '@berth/errors';
import { type TarWriteEntry, writeTar } from '@berth/layers';

/**
 * One entry of a build context as the client lists it for a file sync (BuildKit's fsutil idea):
 * the builder compares it with what it kept from the last build and asks only for what changed,
 * keyed by path + type + size + mtime + mode.
 */
export interface ContextFile {
  /** Relative, `/`-separated, without `.` or `..` segments. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (`& 0o7777`). */
  mode: number;
  /** Bytes (files; 0 otherwise). */
  size: number;
  mtimeMs: number;
  /** The target of a symlink. */
  linkname?: string;
}

/**
 * The entries of the context directory `dir`, parents before children, names sorted: what a
 * `.dockerignore` (`patterns`) excludes is left out, except the paths in `keep` (the Dockerfile
 * and ignore files, which the builder reads). An ignored directory is still walked: a `!`
 * exception may bring back something inside. Owners are not listed (the context is 0:0).
 */
export async function listContext(dir: string, options: { patterns?: IgnorePattern[]; keep?: Iterable<string> } = {}): Promise<ContextFile[]> {
  const ignored = createIgnoreMatcher(options.patterns ?? []);
  const keep = new Set(options.keep ?? []);
  const out: ContextFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel ? join(dir, rel) : dir)).sort();
    const stats = await Promise.all(names.map((name) => lstat(join(dir, rel, name))));
    for (const [i, name] of names.entries()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = stats[i]!;
      const skip = ignored(path) && !keep.has(path);
      const base = { path, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
      if (st.isDirectory()) {
        if (!skip) out.push({ ...base, type: 'dir', size: 0 });
        if (!skip || ignored.shouldWalk(path)) await walk(path);
      } else if (skip) continue;
      else if (st.isSymbolicLink()) out.push({ ...base, type: 'symlink', size: 0, linkname: await readlink(join(dir, path)) });
      else if (st.isFile()) out.push({ ...base, type: 'file', size: st.size });
    }
  };
  await walk('');
  return out;
}

/** The entries as a tar stream (owners 0:0, modes and mtimes kept), read from `dir`. */
export async function* packFiles(dir: string, files: Iterable<ContextFile>): AsyncGenerator<Buffer> {
  async function* entries(): AsyncGenerator<TarWriteEntry> {
    for (const f of files) {
      const header = { name: f.path, mode: f.mode, mtime: Math.floor(f.mtimeMs / 1000), uid: 0, gid: 0 };
      if (f.type === 'dir') yield { header: { ...header, type: 'directory' } };
      else if (f.type === 'symlink') yield { header: { ...header, type: 'symlink', linkname: f.linkname ?? '' } };
      else yield { header, body: await readFile(join(dir, f.path)) };
    }
  }
  yield* writeTar(entries());
}

/** A listed path as the builder accepts it: relative, clean. InvalidArgumentError otherwise. */
export function checkContextPath(path: string): string {
  const clean = posix.normalize(path);
  if (path === '' || clean !== path || path.startsWith('/') || path.endsWith('/') || path === '.' || path.split('/').includes('..')) {
    throw new InvalidArgumentError(`Invalid context path "${path}": expected a clean relative path`);
  }
  return path;
}
