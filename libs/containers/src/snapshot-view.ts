import { mkdtemp, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { warnOnFailure } from '@berth/log';
import { mountAll, unmount } from '@berth/snapshots';
import type { ContainerContext } from './container-context.js';
import type { ContainerSnapshotter } from './dependencies.js';
import type { ContainerRecord } from './types.js';

/** A stopped container's snapshot mounted on a temporary mountpoint. */
export interface SnapshotView {
  /** The mountpoint: the container's root filesystem. */
  target: string;
  /** Unmounts and removes the mountpoint; only the first call does anything. */
  release: () => void;
}

/**
 * Mounts the snapshot of a stopped container on a fresh directory under the run root (named
 * `<purpose>-XXXXXX`), for reading or writing its files (`docker export`, `docker cp`). A
 * mountpoint the release cannot remove stays under the run root, which is swept at the next boot;
 * the log says so.
 */
export async function mountSnapshotView(
  rec: ContainerRecord,
  options: { ctx: ContainerContext; snapshotter: Pick<ContainerSnapshotter, 'mounts'>; purpose: string },
): Promise<SnapshotView> {
  const { ctx, snapshotter, purpose } = options;
  const target = await mkdtemp(join(ctx.layout.runRoot, `${purpose}-`));
  await mountAll(await snapshotter.mounts(rec.SnapshotKey), target);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    void unmount(target)
      .then(() => rmdir(target))
      .catch(warnOnFailure(ctx.log, { container: rec.Id, path: target }, `Cannot release the ${purpose} view of the container`));
  };
  return { target, release };
}
