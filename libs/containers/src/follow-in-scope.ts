import { lstat, readlink } from 'node:fs/promises';
import { InvalidArgumentError } from '@berth/errors';

/** A path inside a container, resolved. */
export interface ScopedPath {
  /** The container path with its symlinks followed (absolute, clean). */
  path: string;
  /** Whether every element of it exists; following stops at a missing one, which is kept as it is. */
  exists: boolean;
}

/**
 * moby's FollowSymlinkInScope: resolves the container path `path` element by element, looking
 * each one up at the host path `hostOf` gives for it (the root filesystem, or a mount over it).
 * Symlinks are followed with the container's root as `/`, and `..` never climbs above it; the
 * last element is followed unless `followLast` is false. More than `maxLinks` symlinks (255, as
 * moby) is an InvalidArgumentError that quotes the path.
 */
export async function followInScope(
  path: string,
  options: { hostOf: (containerPath: string) => string; followLast?: boolean; maxLinks?: number },
): Promise<ScopedPath> {
  const { hostOf, followLast = true, maxLinks = 255 } = options;
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let exists = true;
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = `/${[...resolved, part].join('/')}`;
    const last = pending.length === 0;
    const st = await lstat(hostOf(candidate)).catch(() => undefined); // no such file: undefined
    if (!st) exists = false;
    if (!st?.isSymbolicLink() || (last && !followLast)) {
      resolved.push(part);
      continue;
    }
    if (++links > maxLinks) throw new InvalidArgumentError(`Cannot resolve "${path}": too many levels of symbolic links`);
    const target = await readlink(hostOf(candidate));
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return { path: `/${resolved.join('/')}`, exists };
}
