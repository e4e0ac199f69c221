import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';
import { securePath } from '@berth/runtime';
import { valueExcerpt } from '../located.js';

export interface CopyTreeOptions {
  /** uid/gid for everything copied; default 0:0, or the source's own with `keepOwner`. */
  owner?: { uid: number; gid: number };
  keepOwner?: boolean;
  /** Mode for every file and directory copied (`--chmod`). */
  mode?: number;
}

/** Files and symlinks copied at once: enough to keep libuv's threads busy, few enough to bound open files. */
const PARALLEL = 16;

/** A directory made or reused, whose owner, mode and times are set once everything inside it is written. */
interface DirJob {
  source: string;
  target: string;
  st: Stats;
}

/** A file or symlink to copy; `fresh` when its parent was just made (nothing there to replace). */
interface LeafJob {
  source: string;
  /** Inside `rootfs`, for resolving a path through a symlink of the image. */
  dest: string;
  /** The host path, when already known to be free of symlinks. */
  target: string;
  fresh: boolean;
}

/**
 * Copies `source` to `dest` inside the mounted `rootfs` (with `contents`, only what is inside the
 * directory `source`), keeping modes and mtimes; owners are 0:0 unless `owner` or `keepOwner`.
 *
 * Directories are walked first and made one by one; the files and symlinks are then copied
 * `PARALLEL` at a time, and the directories' owners, modes and times set last (deepest first, so
 * writing inside them changes their mtime no more). A path is resolved inside `rootfs` (symlinks of
 * the image never leading out) only where the walk meets a symlink: under a directory it made or
 * found real, a child's host path is the parent's plus its name.
 */
export async function copyTree(source: string, rootfs: string, dest: string, options: CopyTreeOptions, contents: boolean): Promise<void> {
  const dirs: DirJob[] = [];
  const leaves: LeafJob[] = [];
  const walkDir = async (src: string, target: string, destPath: string, fresh: boolean): Promise<void> => {
    const children = (await readdir(src, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      const childSrc = `${src}/${child.name}`;
      const childDest = posix.join(destPath, child.name);
      if (child.isDirectory()) await visitDir(childSrc, fresh ? `${target}/${child.name}` : undefined, childDest, fresh ? undefined : `${target}/${child.name}`);
      else leaves.push({ source: childSrc, dest: childDest, target: `${target}/${child.name}`, fresh });
    }
  };
  /** A source directory: `freshTarget` when its parent was just made, else `candidate` (the parent's real path plus the name). */
  const visitDir = async (src: string, freshTarget: string | undefined, destPath: string, candidate: string | undefined): Promise<void> => {
    const st = await lstat(src);
    let target = freshTarget;
    let fresh = true;
    if (target === undefined) {
      let existing = candidate ? await lstat(candidate).catch(() => undefined) : undefined; // missing: undefined
      target = candidate;
      if (!candidate || existing?.isSymbolicLink()) {
        // A symlink of the image on the way: resolved inside rootfs, as Docker does.
        target = await securePath(rootfs, destPath);
        existing = await lstat(target).catch(() => undefined); // missing: undefined
      }
      if (existing && !existing.isDirectory()) await rm(target!, { force: true });
      fresh = !existing?.isDirectory();
    }
    if (fresh) await mkdir(target!);
    dirs.push({ source: src, target: target!, st });
    await walkDir(src, target!, destPath, fresh);
  };

  if (contents) {
    // The destination directory exists (the caller made it): its children are compared one by one.
    const target = await securePath(rootfs, dest);
    await walkDir(source, target, dest, false);
  } else {
    const st = await lstat(source);
    if (st.isDirectory()) await visitDir(source, undefined, dest, undefined);
    else leaves.push({ source, dest, target: await securePath(rootfs, dest), fresh: false });
  }

  let next = 0;
  const worker = async () => {
    while (next < leaves.length) await copyLeaf(leaves[next++]!, rootfs, options);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, leaves.length) }, worker));
  for (const { target, st } of dirs.reverse()) {
    const { uid, gid } = ownerOf(st, options);
    await lchown(target, uid, gid);
    await chmod(target, options.mode ?? st.mode & 0o7777);
    await utimes(target, st.atime, st.mtime);
  }
}

function ownerOf(st: Stats, options: CopyTreeOptions): { uid: number; gid: number } {
  return { uid: options.owner?.uid ?? (options.keepOwner ? st.uid : 0), gid: options.owner?.gid ?? (options.keepOwner ? st.gid : 0) };
}

async function copyLeaf(leaf: LeafJob, rootfs: string, options: CopyTreeOptions): Promise<void> {
  const st = await lstat(leaf.source);
  let target = leaf.target;
  if (!leaf.fresh) {
    let existing = await lstat(target).catch(() => undefined); // missing: undefined
    if (existing?.isSymbolicLink()) {
      // Replaced where it points inside rootfs, as a resolved destination path is.
      target = await securePath(rootfs, leaf.dest);
      existing = await lstat(target).catch(() => undefined); // missing: undefined
    }
    if (existing) await rm(target, { recursive: true, force: true });
  }
  const { uid, gid } = ownerOf(st, options);
  if (st.isSymbolicLink()) {
    await symlink(await readlink(leaf.source), target);
    await lchown(target, uid, gid);
    await lutimes(target, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) throw new InvalidArgumentError(`Cannot copy "${valueExcerpt(leaf.source)}": only files, directories and symlinks can be copied`);
  await copyFile(leaf.source, target);
  await lchown(target, uid, gid);
  await chmod(target, options.mode ?? st.mode & 0o7777);
  await utimes(target, st.atime, st.mtime);
}
