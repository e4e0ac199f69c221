import { isAbsolute, join } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';
import type { Mount } from '@berth/snapshots';

/**
 * The directories behind the mounts of an active snapshot, read from the mounts themselves (as
 * BuildKit's overlay differ reads `upperdir=`): `upper` is where the snapshot's own changes are
 * (an overlay's upperdir, or the source of a bind when it has no parent), `lowers` its parents'
 * directories, top-most first. Same host only: these are paths of the host's data root.
 */
export function snapshotDirs(mounts: Mount[]): { upper: string; lowers: string[] } {
  if (mounts.length !== 1) throw new InvalidArgumentError(`Expected the one mount of an active snapshot, got ${mounts.length}`);
  const mount = mounts[0]!;
  if (mount.type === 'bind') {
    if (mount.options.includes('ro')) throw new InvalidArgumentError(`Expected the mount of an active snapshot, got a read-only bind of "${mount.source}"`);
    return { upper: mount.source, lowers: [] };
  }
  if (mount.type !== 'overlay') throw new InvalidArgumentError(`Expected an overlay or bind mount, got "${mount.type}"`);
  const option = (name: string) => mount.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  const upper = option('upperdir');
  if (!upper) throw new InvalidArgumentError('Expected the mount of an active snapshot, got an overlay without upperdir');
  const resolve = (p: string) => (isAbsolute(p) || !mount.cwd ? p : join(mount.cwd, p));
  const lowers = (option('lowerdir') ?? '').split(':').filter(Boolean).map(resolve);
  return { upper: resolve(upper), lowers };
}
