import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerContext } from './container-context.js';
import type { ContainerSnapshotter, ImageSource } from './dependencies.js';

/** Docker's `SizeRw` (the container's own files) and `SizeRootFs` (its whole root filesystem). */
export interface ContainerSize {
  SizeRw: number;
  SizeRootFs: number;
}

/**
 * What `docker inspect --size` and `system df -v` show: the bytes of the files in the container's
 * rw layer (its overlay upper directory: sizes of files and symlinks, each inode once, directories
 * and whiteouts not counted, as docker's `ChangesSize`), and that plus its image's size. A missing
 * image or snapshot (a Dead container) counts as 0.
 */
export async function containerSize(
  ctx: ContainerContext,
  deps: { snapshotter: Pick<ContainerSnapshotter, 'upperDir'>; images: Pick<ImageSource, 'resolve'> },
  idOrName: string,
): Promise<ContainerSize> {
  const rec = ctx.mustGet(ctx.resolve(idOrName));
  const sizeRw = await filesSize(deps.snapshotter.upperDir(rec.SnapshotKey));
  const image = await deps.images.resolve(rec.Image).catch(() => undefined);
  return { SizeRw: sizeRw, SizeRootFs: sizeRw + (image?.size ?? 0) };
}

async function filesSize(dir: string, seen = new Set<number>()): Promise<number> {
  let total = 0;
  // A directory that vanished (the container was removed meanwhile) has nothing left to count.
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const st = await lstat(join(dir, name)).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) total += await filesSize(join(dir, name), seen);
    else if ((st.isFile() || st.isSymbolicLink()) && !seen.has(st.ino)) {
      seen.add(st.ino);
      total += st.size;
    }
  }
  return total;
}
