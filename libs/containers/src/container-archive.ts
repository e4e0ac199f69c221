import { lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { applyLayer, packDirectory } from '@berth/layers';
import type { ContainerContext } from './container-context.js';
import type { ContainerSnapshotter } from './dependencies.js';
import { followInScope } from './follow-in-scope.js';
import { isMountpoint } from './mountinfo.js';
import { mountSnapshotView } from './snapshot-view.js';
import type { ContainerRecord } from './types.js';

/**
 * `docker cp`'s half on the platform (moby daemon/archive.go): stat a path of a container, archive
 * it as a tar, or extract a tar into a directory of it. Works on running and stopped containers (a
 * stopped one's snapshot is mounted on a temporary mountpoint meanwhile, as `export` does).
 *
 * Every path is resolved as moby's `FollowSymlinkInScope` does: symlinks are followed as if the
 * container's root were `/`, so `..` and absolute link targets never lead out of it. Volumes and
 * bind mounts (and /etc/hosts, /etc/hostname, /etc/resolv.conf) are reached at their host source,
 * so a copy into `/data` of a container with a volume there lands in the volume. A tmpfs mount is
 * not reachable from the host: its path reads as the (empty) directory under it.
 */

/** Docker's container.PathStat; `mode` carries Go's os.FileMode bits. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  /** RFC 3339 with nanoseconds. */
  mtime: string;
  /** For a symlink: where it leads, resolved inside the container, as an absolute path. */
  linkTarget: string;
}

export interface ExtractOptions {
  /** Refuse to replace a directory by a file or the reverse (the CLI always sets it). */
  noOverwriteDirNonDir?: boolean;
  /** `-a`: keep the archive's uid/gid; otherwise everything is owned by root (0:0). */
  copyUidGid?: boolean;
}

/** Go's os.FileMode type bits. */
const goMode = { dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, namedPipe: 2 ** 25, socket: 2 ** 24, setuid: 2 ** 23, setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20 };

/** One view of a container's files: its root on the host plus the mounts to reach by their source. */
interface View {
  rootfs: string;
  /** Container path → host path, longest destination first. */
  mounts: Array<{ destination: string; source: string }>;
}

export class ContainerArchive {
  constructor(
    private readonly ctx: ContainerContext,
    private readonly snapshotter: Pick<ContainerSnapshotter, 'mounts'>,
  ) {}

  /** The stat of `path` in the container (a final symlink is not followed). NotFoundError as Docker's. */
  async stat(idOrName: string, path: string): Promise<PathStat> {
    const rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    return this.withView(rec, { hold: true }, async (view) => (await this.statIn(view, idOrName, path)).stat);
  }

  /**
   * A tar of `path` (a directory with everything under it), its entries named after the path's last
   * element, and the path's stat. The view of a stopped container stays mounted until the stream ends.
   */
  async archive(idOrName: string, path: string): Promise<{ stat: PathStat; stream: Readable }> {
    const rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    return this.withView(rec, { hold: false }, async (view, release) => {
      const { stat, host } = await this.statIn(view, idOrName, path);
      const abs = absolutePath(path);
      // Docker rebases the entries onto the requested name: `/etc/` → `etc/…`, `/etc/.` → `./…`, `/` → `./…`.
      const base = abs === '/' || abs.endsWith('/.') ? '.' : posix.basename(abs);
      const { stream, diffId } = packDirectory(posix.dirname(host), { include: posix.basename(host), rename: base });
      diffId.catch(() => {}); // only the stream matters here; its errors reach the reader
      stream.once('close', release);
      this.ctx.emit('archive-path', rec, { path: abs });
      return { stat, stream };
    });
  }

  /**
   * Extracts the tar `content` into the directory `path` of the container (a final symlink is
   * followed). InvalidArgumentError `extraction point is not a directory`, FailedPreconditionError
   * `container rootfs is marked read-only` (unless the path is in a volume), NotFoundError as stat's.
   */
  async extract(idOrName: string, path: string, content: Readable, options: ExtractOptions = {}): Promise<void> {
    const rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    await this.withView(rec, { hold: true }, async (view) => {
      const abs = absolutePath(path);
      const resolved = await resolveInScope(view, abs, { followLast: true });
      const host = hostPath(view, resolved);
      const st = await lstat(host).catch(() => undefined); // no such file: undefined
      if (!st) throw fileNotFound(path, idOrName);
      if (!st.isDirectory()) throw new InvalidArgumentError('extraction point is not a directory');
      const inVolume = view.mounts.some((m) => m.destination !== '/etc/hosts' && within(resolved, m.destination));
      if (rec.HostConfig.ReadonlyRootfs && !inVolume) throw new FailedPreconditionError('container rootfs is marked read-only');
      await applyLayer(host, content, {
        whiteouts: 'none',
        noOverwriteDirNonDir: options.noOverwriteDirNonDir ?? false,
        ...(options.copyUidGid ? {} : { owner: { uid: 0, gid: 0 } }),
      });
      this.ctx.emit('extract-to-dir', rec, { path: abs });
    });
  }

  private async statIn(view: View, name: string, path: string): Promise<{ stat: PathStat; host: string }> {
    const abs = absolutePath(path);
    // Docker resolves the directory part and keeps the last element as it is, unless the path
    // asserts a directory (`dir/`, `dir/.`).
    const resolved = await resolveInScope(view, abs, { followLast: abs.endsWith('/') || abs.endsWith('/.') });
    const host = hostPath(view, resolved);
    const st = await lstat(host).catch(() => undefined); // no such file: undefined
    if (!st) throw fileNotFound(path, name);
    if ((abs.endsWith('/') || abs.endsWith('/.')) && !st.isDirectory()) throw fileNotFound(path, name);
    let mode = st.mode & 0o777;
    if (st.mode & 0o4000) mode += goMode.setuid;
    if (st.mode & 0o2000) mode += goMode.setgid;
    if (st.mode & 0o1000) mode += goMode.sticky;
    if (st.isDirectory()) mode += goMode.dir;
    else if (st.isSymbolicLink()) mode += goMode.symlink;
    else if (st.isCharacterDevice()) mode += goMode.device + goMode.charDevice;
    else if (st.isBlockDevice()) mode += goMode.device;
    else if (st.isFIFO()) mode += goMode.namedPipe;
    else if (st.isSocket()) mode += goMode.socket;
    const linkTarget = st.isSymbolicLink() ? await resolveInScope(view, resolved, { followLast: true }) : '';
    const base = abs === '/' ? '/' : posix.basename(abs.replace(/\/\.?$/, '')) || '/';
    return { stat: { name: base, size: st.size, mode, mtime: st.mtime.toISOString(), linkTarget }, host };
  }

  /**
   * Runs `fn` with a view of the container's files: a running container's mounted rootfs, or a
   * stopped one's snapshot mounted on a temporary mountpoint (under the container's lock when
   * `hold`, so that it does not start meanwhile; otherwise only while mounting, and `release`
   * unmounts it).
   */
  private async withView<T>(rec: ContainerRecord, options: { hold: boolean }, fn: (view: View, release: () => void) => Promise<T>): Promise<T> {
    const mounts = mountTable(rec);
    const rootfs = this.ctx.layout.rootfs(rec.Id);
    if (rec.State.Running && !rec.State.Restarting && (await isMountpoint(rootfs))) return fn({ rootfs, mounts }, () => {});
    const mountStopped = async (): Promise<{ view: View; release: () => void }> => {
      const { target, release } = await mountSnapshotView(rec, { ctx: this.ctx, snapshotter: this.snapshotter, purpose: 'archive' });
      return { view: { rootfs: target, mounts }, release };
    };
    if (options.hold) {
      return this.ctx.locks.run(rec.Id, async () => {
        const { view, release } = await mountStopped();
        try {
          return await fn(view, () => {});
        } finally {
          release();
        }
      });
    }
    const { view, release } = await this.ctx.locks.run(rec.Id, mountStopped);
    try {
      return await fn(view, release);
    } catch (err) {
      release();
      throw err;
    }
  }
}

function fileNotFound(path: string, container: string): NotFoundError {
  return new NotFoundError(`Could not find the file ${path} in container ${container}`, { code: 'NO_SUCH_FILE' });
}

/** The path as an absolute container path, keeping a trailing `/` or `/.` (they assert a directory). */
export function absolutePath(path: string): string {
  const clean = posix.normalize(`/${path}`);
  if (clean === '/') return '/';
  if (path.endsWith('/.') || path === '.') return `${clean.replace(/\/$/, '')}/.`;
  if (path.endsWith('/')) return `${clean.replace(/\/$/, '')}/`;
  return clean.replace(/\/$/, '');
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/** The mounts a copy reaches at their host source: volumes, binds, and the files Berth writes in /etc. */
function mountTable(rec: ContainerRecord): View['mounts'] {
  const mounts = (rec.MountPoints ?? []).filter((m) => m.Source !== '').map((m) => ({ destination: posix.normalize(m.Destination), source: m.Source }));
  for (const [destination, source] of [
    ['/etc/hosts', rec.HostsPath],
    ['/etc/hostname', rec.HostnamePath],
    ['/etc/resolv.conf', rec.ResolvConfPath],
  ] as const) {
    if (!mounts.some((m) => m.destination === destination)) mounts.push({ destination, source });
  }
  return mounts.sort((a, b) => b.destination.length - a.destination.length);
}

/** The host path of a resolved container path. */
function hostPath(view: View, containerPath: string): string {
  const clean = containerPath.replace(/\/\.?$/, '') || '/';
  for (const m of view.mounts) {
    if (within(clean, m.destination)) return m.source + clean.slice(m.destination.length);
  }
  return clean === '/' ? view.rootfs : join(view.rootfs, clean);
}

/**
 * moby's FollowSymlinkInScope over a view (follow-in-scope.ts), mounts included.
 * @returns the container path.
 */
export async function resolveInScope(view: View, path: string, options: { followLast: boolean }): Promise<string> {
  return (await followInScope(path, { hostOf: (p) => hostPath(view, p), followLast: options.followLast })).path;
}
