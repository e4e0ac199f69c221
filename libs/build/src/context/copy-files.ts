import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import { pathMatch } from '@berth/glob';
import { securePath } from '@berth/runtime';
import { valueExcerpt } from '../located.js';
import { copyTree } from './copy-tree.js';
import { extractArchive, isTarArchive } from './local-archive.js';

/** One file, directory or symlink a COPY/ADD takes, and where it lands relative to the destination. */
export interface CopyEntry {
  /** Absolute host path of the source. */
  path: string;
  /** Path of the source relative to its root, for messages and checksums. */
  name: string;
  isDirectory: boolean;
  /** Downloaded (ADD <url>): never unpacked. */
  remote?: boolean;
}

const exclude = { what: 'COPY --exclude pattern' };
const source = { what: 'COPY source pattern' };

export interface ResolveSourcesOptions {
  /** Sources come from the build context: a path climbing out of it is refused. */
  context: boolean;
  /** Glob patterns (relative to the source root) of files to leave out (`COPY --exclude`). */
  excludes?: string[];
}

/**
 * Expands the sources of a COPY/ADD (globs `*`, `?`, `[...]` per path segment) inside `root`.
 * Errors: InvalidArgumentError `forbidden path outside the build context: "../x"` for a context
 * source climbing out of it, NotFoundError `"x" not found` when a source matches nothing.
 */
export async function resolveSources(root: string, sources: string[], options: ResolveSourcesOptions): Promise<CopyEntry[]> {
  const out: CopyEntry[] = [];
  for (const source of sources) {
    const cleaned = posix.normalize(source.replace(/^\/+/, '') || '.');
    if (options.context && (cleaned === '..' || cleaned.startsWith('../'))) {
      throw new InvalidArgumentError(`forbidden path outside the build context: "${valueExcerpt(source)}"`);
    }
    const segments = cleaned === '.' ? [] : cleaned.split('/').filter((s) => s !== '..' && s !== '.');
    const matches = await expandGlob(root, segments);
    const kept = [];
    for (const name of matches) {
      if (options.excludes?.some((p) => pathMatch(p, name, exclude))) continue;
      const path = await securePath(root, name);
      const st = await lstat(path).catch(() => undefined); // missing: undefined
      if (!st) continue;
      kept.push({ path, name: name || '.', isDirectory: st.isDirectory() });
    }
    if (kept.length === 0) throw new NotFoundError(`"${valueExcerpt(source)}" not found`);
    out.push(...kept);
  }
  return out;
}

async function expandGlob(root: string, segments: string[]): Promise<string[]> {
  let current = [''];
  for (const segment of segments) {
    const next: string[] = [];
    for (const base of current) {
      if (!/[*?[]/.test(segment)) {
        next.push(base ? `${base}/${segment}` : segment);
        continue;
      }
      const dir = await securePath(root, base);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) if (pathMatch(segment, name, source)) next.push(base ? `${base}/${name}` : name);
    }
    current = next;
  }
  return current;
}

/** What a checksum reads of a tree: the file system, or what the builder knows of a synced context. */
export interface TreeReader {
  lstat(path: string): Promise<{ mode: number; size: number; uid: number; gid: number; rdev: number; isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
  digest(path: string, size: number): Promise<string>;
  /** Checksums this reader made before of a tree that has not changed since (index-reader.ts), if it keeps them. */
  checksums?: ChecksumMemo;
}

/** Checksums of a tree already made, by the entries and owner option they covered. */
export interface ChecksumMemo {
  /** The checksum of `entries` made before; undefined if none (or if an entry is not in the tree). */
  get(entries: readonly CopyEntry[], withOwner: boolean): string | undefined;
  set(entries: readonly CopyEntry[], withOwner: boolean, checksum: string): void;
}

const fsReader: TreeReader = { lstat, readdir, readlink, digest: (path, size) => fileDigest(path, size) };

/**
 * A checksum of what a COPY would take: every entry's relative path, type, mode, owner (when
 * `withOwner`, for copies from another stage), size, content and symlink target. Modification times
 * are left out, as BuildKit does: touching a file does not invalidate the cache. `reader` answers
 * for a synced context from its index (no file is read again); the checksum is the same.
 */
export async function checksumEntries(entries: CopyEntry[], options: { withOwner: boolean; reader?: TreeReader }): Promise<string> {
  const fs = options.reader ?? fsReader;
  const known = fs.checksums?.get(entries, options.withOwner);
  if (known !== undefined) return known;
  const hash = createHash('sha256');
  const visit = async (path: string, name: string): Promise<void> => {
    const st = await fs.lstat(path);
    const owner = options.withOwner ? ` ${st.uid}:${st.gid}` : '';
    if (st.isSymbolicLink()) {
      hash.update(`L ${name} ${(st.mode & 0o7777).toString(8)}${owner} ${await fs.readlink(path)}\0`);
    } else if (st.isDirectory()) {
      hash.update(`D ${name} ${(st.mode & 0o7777).toString(8)}${owner}\0`);
      for (const child of (await fs.readdir(path)).sort()) await visit(`${path}/${child}`, `${name}/${child}`);
    } else if (st.isFile()) {
      hash.update(`F ${name} ${(st.mode & 0o7777).toString(8)}${owner} ${st.size} ${await fs.digest(path, st.size)}\0`);
    } else {
      hash.update(`O ${name} ${st.mode.toString(8)}${owner} ${st.rdev}\0`);
    }
  };
  for (const entry of entries) await visit(entry.path, entry.name);
  const checksum = `sha256:${hash.digest('hex')}`;
  fs.checksums?.set(entries, options.withOwner, checksum);
  return checksum;
}

export async function fileDigest(path: string, size = Infinity): Promise<string> {
  // Small files in one read: a stream per file costs more than the hashing.
  if (size <= 1024 * 1024) return `sha256:${createHash('sha256').update(await readFile(path)).digest('hex')}`;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

export interface CopyIntoOptions {
  /** The destination as written (expanded, made absolute against WORKDIR); a trailing `/` means a directory. */
  dest: string;
  /** uid/gid for everything copied; default 0:0 from the context, the source's own from a stage. */
  owner?: { uid: number; gid: number };
  /** Keep the sources' owners (COPY --from) when no `owner` is given. */
  keepOwner?: boolean;
  /** Mode for every file and directory copied (`--chmod`). */
  mode?: number;
  /** ADD: extract local tar archives (plain, gzip, bzip2, xz) instead of copying them; other files are copied as they are. */
  extractArchives?: boolean;
}

/**
 * Copies `entries` into the root filesystem `rootfs` (mounted; paths resolved inside it, symlinks
 * never leading out) with Docker's rules: a directory source copies its contents; several sources
 * or a destination ending in `/` make the destination a directory; a single file onto an existing
 * directory lands inside it. Missing parent directories are created (0755). Modes and mtimes are
 * kept; owners are 0:0 unless `owner` or `keepOwner`.
 */
export async function copyInto(rootfs: string, entries: CopyEntry[], options: CopyIntoOptions): Promise<void> {
  const destIsDir = options.dest.endsWith('/') || entries.length > 1;
  const destPath = posix.normalize(options.dest);
  for (const entry of entries) {
    if (options.extractArchives && !entry.isDirectory && !entry.remote && (await isTarArchive(entry.path))) {
      const target = await securePath(rootfs, destPath);
      await mkdirOwned(rootfs, destPath, options);
      await extractArchive(entry.path, target);
      continue;
    }
    if (entry.isDirectory) {
      await mkdirOwned(rootfs, destPath, options);
      await copyTree(entry.path, rootfs, destPath, options, true);
      continue;
    }
    let target = destPath;
    const existing = await lstat(await securePath(rootfs, destPath)).catch(() => undefined); // missing: undefined
    if (destIsDir || existing?.isDirectory()) {
      await mkdirOwned(rootfs, destPath, options);
      target = posix.join(destPath, posix.basename(entry.name));
    } else {
      await mkdirOwned(rootfs, posix.dirname(destPath), options);
    }
    await copyTree(entry.path, rootfs, target, options, false);
  }
}

/** Creates `path` and its missing parents inside `rootfs` (0755, owned by `owner` or root). */
async function mkdirOwned(rootfs: string, path: string, options: CopyIntoOptions): Promise<void> {
  const parts = posix.normalize(path).split('/').filter(Boolean);
  let current = '/';
  for (const part of parts) {
    current = posix.join(current, part);
    const host = await securePath(rootfs, current);
    const st = await lstat(host).catch(() => undefined); // missing: undefined
    if (st?.isDirectory()) continue;
    if (st) await rm(host, { recursive: true, force: true });
    await mkdir(host, { mode: 0o755 });
    await chmod(host, 0o755);
    const owner = options.owner ?? { uid: 0, gid: 0 };
    await lchown(host, owner.uid, owner.gid);
  }
}
