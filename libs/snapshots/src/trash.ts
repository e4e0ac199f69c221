import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Deletes trees in the background, one after another, as containerd's overlay snapshotter cleans
 * up the snapshot dirs its Remove renamed away: the caller first renames the tree out of the way
 * (one rename, crash safe: whatever the name is, the next start sweeps it), then hands it here and
 * answers at once. Each rmdir on ext4 mounted with `discard` takes 2–7 ms; done synchronously a
 * container's tree blocked the event loop for 20–30 ms per `rm` (bench/README.md). The deletion
 * is a walk of async fs calls (each unlink and rmdir a libuv threadpool job, never on the event
 * loop), one call at a time, one tree after another: it takes one thread of the pool of 4, so the
 * agent's other file reads wait less than behind fs.rm's parallel walk (which took them all).
 * A `rm -rf` child instead costs the agent a fork: 23–40 ms of blocked event loop, measured.
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
      removeTree(path)
        .catch(() => rm(path, { recursive: true, force: true, maxRetries: 3 }))
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

const gone = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
const unlessGone = (err: unknown) => {
  if (!gone(err)) throw err;
};

/** rm -rf, one call at a time; what another process deleted meanwhile is fine. */
async function removeTree(path: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (err) {
    if (gone(err)) return;
    if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
    return unlink(path).catch(unlessGone);
  }
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await removeTree(child);
    else await unlink(child).catch(unlessGone);
  }
  await rmdir(path).catch(unlessGone);
}
