import { rm } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type { ContentStore } from '@berth/content';
import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import { mountPoints, type OverlaySnapshotter, unmount } from '@berth/snapshots';
import type { CollectScope, ResourceCollector } from './lease-manager.js';
import type { TaskRuntime } from './run-task.js';
import { type Lease, type LeaseResource, MOUNT_ROOT_LABEL } from './worker.js';

export interface HostCollectorOptions {
  content: Pick<ContentStore, 'info' | 'delete'>;
  snapshotter: Pick<OverlaySnapshotter, 'stat' | 'remove'>;
  runtime: Pick<TaskRuntime, 'delete'>;
  /** The digest of every blob an image of the host references (manifests, configs, layers). */
  imageBlobs: () => Promise<Set<string>>;
  /** Where task bundles live: `<tasksDir>/<id>/rootfs`. */
  tasksDir: string;
  /** The directories a lease's mount root may be in (the data root). */
  mountRoots: string[];
}

/**
 * What happens to a host's resources when no lease holds them any more:
 *
 *   task       the container is killed and deleted, its rootfs unmounted, its bundle removed
 *   snapshot   removed unless committed (a committed layer outlives the build that made it)
 *   blob       deleted unless an image references it
 *
 * and, first, whatever the lease's owner left mounted under its mount root is unmounted (a
 * builder killed in the middle of a COPY) and the directory removed.
 */
export class HostCollector implements ResourceCollector {
  readonly #options: HostCollectorOptions;

  constructor(options: HostCollectorOptions) {
    this.#options = options;
  }

  async collect(resource: LeaseResource, scope: CollectScope): Promise<{ collected: boolean; reclaimed: number }> {
    switch (resource.type) {
      case 'task':
        return this.#task(resource.id);
      case 'snapshot':
        return this.#snapshot(resource.id);
      case 'blob':
        return this.#blob(resource.id, scope);
    }
  }

  async release(lease: Lease): Promise<void> {
    const root = lease.labels[MOUNT_ROOT_LABEL];
    if (!root) return;
    const dir = this.#mountRoot(root);
    await unmountBelow(dir);
    await rm(dir, { recursive: true, force: true });
  }

  async #task(id: string): Promise<{ collected: boolean; reclaimed: number }> {
    await this.#options.runtime.delete(id, { force: true });
    const bundle = join(this.#options.tasksDir, id);
    await unmountBelow(bundle);
    await rm(bundle, { recursive: true, force: true });
    return { collected: true, reclaimed: 0 };
  }

  async #snapshot(key: string): Promise<{ collected: boolean; reclaimed: number }> {
    const info = await this.#options.snapshotter.stat(key).catch((err) => {
      if (err instanceof NotFoundError) return undefined; // committed under another name, or removed by its owner
      throw err;
    });
    if (!info || info.kind === 'committed') return { collected: false, reclaimed: 0 };
    await this.#options.snapshotter.remove(key);
    return { collected: true, reclaimed: 0 };
  }

  async #blob(digest: string, scope: CollectScope): Promise<{ collected: boolean; reclaimed: number }> {
    // The images' blobs, read once per batch (an ended lease collects its blobs in a row).
    let blobs = scope.get('imageBlobs') as Promise<Set<string>> | undefined;
    if (!blobs) scope.set('imageBlobs', (blobs = this.#options.imageBlobs()));
    if ((await blobs).has(digest)) return { collected: false, reclaimed: 0 };
    const info = await this.#options.content.info(digest).catch((err) => {
      if (err instanceof NotFoundError) return undefined; // deleted already
      throw err;
    });
    if (!info) return { collected: false, reclaimed: 0 };
    await this.#options.content.delete(digest);
    return { collected: true, reclaimed: info.size };
  }

  #mountRoot(root: string): string {
    const dir = normalize(root);
    const inside = this.#options.mountRoots.some((r) => dir.startsWith(normalize(r) + sep));
    if (!isAbsolute(dir) || !inside) {
      throw new InvalidArgumentError(`Invalid lease mount root "${root}": expected a directory inside ${this.#options.mountRoots.map((r) => `"${r}"`).join(', ')}`);
    }
    return dir;
  }
}

/** Unmounts every mount point at or below `dir`, deepest first. */
export async function unmountBelow(dir: string): Promise<void> {
  const targets = (await mountPoints())
    .map((m) => m.target)
    .filter((t) => t === dir || t.startsWith(dir + sep))
    .sort((a, b) => b.length - a.length);
  for (const target of new Set(targets)) await unmount(target);
}
