import { createHash } from 'node:crypto';
import { chown, lstat, mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { RunMount } from '@berth/dockerfile';
import { InvalidArgumentError } from '@berth/errors';
import type { TaskMount } from '@berth/worker';
import { valueExcerpt } from '../located.js';
import { mountOwner } from './mount-owner.js';

/**
 * Prepares the cache mounts of a RUN: each is a directory kept across builds under `root` (the
 * builder's `<workDir>/cache-mounts`), one per cache `id` (default: the target path), created on
 * first use with `mode` (default 0755) and `uid`/`gid` (default 0), bind-mounted read-write
 * (read-only with `readonly`) at `target` (relative targets are under `cwd`). Every `sharing` mode
 * behaves as `shared`. `expand` expands the step's variables in the option values. A cache seeded
 * `from` a stage is refused. The task makes the mount points the image lacks and removes them
 * after the run, so they are not part of the layer (as with BuildKit).
 */
export async function prepareCacheMounts(
  root: string,
  mounts: RunMount[],
  options: { cwd: string; expand: (word: string) => string },
): Promise<TaskMount[]> {
  const out: TaskMount[] = [];
  for (const m of mounts) {
    if (m.type !== 'cache') continue;
    if (m.from) throw new InvalidArgumentError(`RUN --mount=type=cache,from=${valueExcerpt(m.from)} is not supported: a cache mount cannot be seeded from a stage`);
    const rawTarget = m.target ? options.expand(m.target) : '';
    if (!rawTarget) throw new InvalidArgumentError('RUN --mount=type=cache needs a target (target=/path)');
    const target = posix.resolve(options.cwd || '/', rawTarget);
    const id = m.id ? options.expand(m.id) : target;
    const dir = join(root, createHash('sha256').update(id).digest('hex').slice(0, 32));
    if (!(await lstat(dir).catch(() => undefined))) { // missing: undefined
      await mkdir(root, { recursive: true });
      const { mode, uid, gid } = mountOwner(m, { defaultMode: 0o755, expand: options.expand });
      // Two stages running side by side may make the same cache at once: the first one wins.
      const made = await mkdir(dir, { mode }).then(
        () => true,
        (err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? false : Promise.reject(err)),
      );
      if (made) await chown(dir, uid, gid);
    }
    out.push({ source: dir, destination: target, readOnly: Boolean(m.readonly) });
  }
  return out;
}

