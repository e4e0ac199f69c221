import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeLifecycle } from '@berth/runtime';
import { unmount } from '@berth/snapshots';
import type { ContainerContext } from './container-context.js';
import type { ContainerSnapshotter } from './dependencies.js';
import { isMountpoint } from './mountinfo.js';

const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** What the sweep touches besides the records. */
export interface SweepDeps {
  runtime: Pick<RuntimeLifecycle, 'delete'>;
  snapshotter: Pick<ContainerSnapshotter, 'list' | 'remove'>;
}

/**
 * At agent start, after the records were reconciled: removes what a create cut short by a crash
 * left without a record. A bundle dir under `containers/` whose id has no record (its rootfs
 * unmounted, its runtime state deleted first), and an active snapshot keyed by a container id
 * (64 hex) that no record names. Snapshots with other keys belong to others (image unpacks
 * `extract-*`, builds `build-*`) and are left alone. Failures are logged, never thrown: a leftover
 * must not keep the agent from starting. Then empties the trash (layout.ts) in the background.
 * @returns the ids swept.
 */
export async function sweepOrphans(ctx: ContainerContext, deps: SweepDeps): Promise<string[]> {
  const known = new Set(ctx.store.all().map((r) => r.Id));
  const swept = new Set<string>();
  const dirs = await readdir(ctx.layout.containersDir).catch(() => [] as string[]);
  for (const name of dirs) {
    if (known.has(name) || ctx.reservedIds.has(name)) continue;
    try {
      const rootfs = ctx.layout.rootfs(name);
      if (await isMountpoint(rootfs)) await unmount(rootfs);
      if (CONTAINER_ID.test(name)) await deps.runtime.delete(name, { force: true });
      await rm(join(ctx.layout.containersDir, name), { recursive: true, force: true });
      swept.add(name);
    } catch (err) {
      ctx.log.warn({ path: join(ctx.layout.containersDir, name), err }, 'Cannot remove a leftover container directory');
    }
  }
  for (const snapshot of await deps.snapshotter.list()) {
    if (snapshot.kind !== 'active' || !CONTAINER_ID.test(snapshot.key) || known.has(snapshot.key) || ctx.reservedIds.has(snapshot.key)) continue;
    try {
      await deps.snapshotter.remove(snapshot.key);
      swept.add(snapshot.key);
    } catch (err) {
      ctx.log.warn({ snapshot: snapshot.key, err }, 'Cannot remove a leftover snapshot');
    }
  }
  // What removals a killed agent did not finish deleting (container-runner discardBundle), in the background.
  for (const name of await readdir(ctx.layout.trashDir).catch(() => [] as string[])) ctx.trash.discard(join(ctx.layout.trashDir, name));
  for (const id of swept) ctx.log.info({ container: id }, 'Removed what an interrupted create left of the container');
  return [...swept];
}
