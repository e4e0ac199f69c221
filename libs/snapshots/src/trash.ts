import { rm } from 'node:fs/promises';

/**
 * Deletes trees in the background, one after another, as containerd's overlay snapshotter cleans
 * up the snapshot dirs its Remove renamed away: the caller first renames the tree out of the way
 * (one rename, crash safe: whatever the name is, the next start sweeps it), then hands it here and
 * answers at once. Each rmdir on ext4 mounted with `discard` takes 2–7 ms; done synchronously a
 * container's tree blocked the event loop for 20–30 ms per `rm` (bench/README.md). The deletion
 * runs as fs.promises.rm (every unlink and rmdir a libuv threadpool job, never on the event loop),
 * one tree at a time so it takes at most a thread or a few of the pool.
 *
 * A process killed meanwhile leaves the renamed tree: its owner sweeps it when it opens again.
 * Failures (another process deleting the same tree, a mount left inside it) are left for that sweep.
 */
export class Trash {
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;

  /** Starts deleting `path` (a tree already renamed out of the way) after those handed in before. */
  discard(path: string): void {
    this.pending++;
    this.queue = this.queue.then(() =>
      rm(path, { recursive: true, force: true, maxRetries: 3 })
        .catch(() => undefined) // swept again on the next open
        .finally(() => this.pending--),
    );
  }

  /** Trees handed in and not deleted yet. */
  get size(): number {
    return this.pending;
  }

  /** Resolves once every tree handed in so far is deleted (or given up for the next sweep). */
  settled(): Promise<void> {
    return this.queue;
  }
}
