import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { ConflictError, InternalError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { securePath, type OciMount } from '@berth/runtime';
import { runCommand } from '@berth/subprocess';

/**
 * Volumes, bind mounts and tmpfs mounts of containers, the way Docker's daemon treats them:
 *
 *   create  `resolveMounts`: `-v` strings (HostConfig.Binds), `--mount`s (HostConfig.Mounts),
 *           `--tmpfs`, `--volumes-from` and the image's VOLUME paths become the container's mount
 *           points (Docker's MountPoints, persisted in the record); volumes named but missing and
 *           anonymous ones are created here.
 *   start   `prepareMounts`: volumes are acquired (driver options mounted), missing `-v` host dirs
 *           made, a new empty volume is filled once from the image (Docker's copy-up, `CopyData`),
 *           and the mount points become OCI mounts.
 *   remove  `anonymousVolumeNames`: what `rm -v` and `--rm` remove.
 */

/** `--mount` (Docker's HostConfig.Mounts entry, in the API's shape). */
export interface MountOption {
  Type: 'volume' | 'bind' | 'tmpfs' | string;
  /** Volume name (empty: anonymous), or absolute host path for a bind. */
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** One mount of a container (Docker's MountPoint), as persisted in the record. */
export interface MountPoint {
  Type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name (volumes only). */
  Name?: string;
  /** Host path; the volume's `_data` for volumes, '' for tmpfs. */
  Source: string;
  Destination: string;
  /** `local` for volumes. */
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** Fill the volume from the image's content at Destination at the next start (then cleared). */
  CopyData?: boolean;
  /** Made for this container: `rm -v` and `--rm` remove it. */
  Anonymous?: boolean;
  /** `-v /host:/dst`: make the host directory when it is missing (unlike `--mount`). */
  CreateSource?: boolean;
  /** tmpfs mount options (`size=…`, `mode=…`, plus Docker's defaults). */
  TmpfsOptions?: string[];
}

/** The narrow view of @berth/volumes `VolumeStore` that containers use. */
export interface VolumeSource {
  /** Creates (or returns the existing) volume. */
  create(name: string | undefined, options?: { labels?: Record<string, string>; anonymous?: boolean }): Promise<{ Name: string; Mountpoint: string; Driver: string }>;
  get(name: string): { Name: string; Mountpoint: string; Driver: string } | undefined;
  /** The volume's host path, with its driver filesystem mounted. NotFoundError when it is gone. */
  acquire(name: string): Promise<string>;
  /** ConflictError when still in use, NotFoundError when missing. */
  remove(name: string, options?: { force?: boolean }): Promise<void>;
  /** Publishes Docker's volume `mount` / `unmount` event for a container (see volumeEvents). */
  announce?(name: string, action: 'mount' | 'unmount', attributes: Record<string, string>): void;
}

/**
 * Docker's volume events of a container's start (`mount`: container, destination, read/write,
 * propagation) or end (`unmount`: container), one per volume mount point (daemon setupMounts,
 * UnmountVolumes).
 */
export function announceVolumes(volumes: VolumeSource | undefined, action: 'mount' | 'unmount', rec: { Id: string; MountPoints?: MountPoint[] }): void {
  for (const m of rec.MountPoints ?? []) {
    if (m.Type !== 'volume' || !m.Name) continue;
    const attributes: Record<string, string> =
      action === 'mount' ? { container: rec.Id, destination: m.Destination, 'read/write': String(m.RW), propagation: m.Propagation } : { container: rec.Id };
    volumes?.announce?.(m.Name, action, attributes);
  }
}

export interface MountRequest {
  binds?: string[];
  mounts?: MountOption[];
  /** path → options (comma-separated, '' for none). */
  tmpfs?: Record<string, string>;
  volumesFrom?: string[];
  /** The image config's Volumes (keys are paths). */
  imageVolumes?: Record<string, unknown>;
}

export interface ResolveMountsDeps {
  /** Absent: any volume (named, anonymous, image VOLUME) is refused. */
  volumes?: VolumeSource;
  /** The mount points of another container (`--volumes-from`); NotFoundError `No such container: x`. */
  mountsOf(container: string): MountPoint[];
}

const propagations = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

/** Docker's volume.ValidMountMode: rw|ro, z|Z, nocopy and one propagation, comma-separated. */
function parseMode(mode: string): { rw: boolean; nocopy: boolean; propagation?: string } | undefined {
  let rw: boolean | undefined;
  let label = false;
  let nocopy = false;
  let propagation: string | undefined;
  for (const part of mode.split(',')) {
    if (part === 'rw' || part === 'ro') {
      if (rw !== undefined) return undefined;
      rw = part === 'rw';
    } else if (part === 'z' || part === 'Z') {
      if (label) return undefined;
      label = true;
    } else if (part === 'nocopy') {
      if (nocopy) return undefined;
      nocopy = true;
    } else if (propagations.has(part)) {
      if (propagation !== undefined) return undefined;
      propagation = part;
    } else {
      return undefined;
    }
  }
  return { rw: rw ?? true, nocopy, propagation };
}

function invalidMountConfig(type: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid mount config for type "${type}": ${why}`, { code: 'INVALID_MOUNT' });
}

/** Checks a container path: absolute, not `/`. */
function checkDestination(type: string, target: string): string {
  if (!posix.isAbsolute(target)) throw invalidMountConfig(type, `invalid mount path: '${target}' mount path must be absolute`);
  const clean = posix.normalize(target).replace(/(.)\/$/, '$1');
  if (clean === '/') throw invalidMountConfig(type, "invalid specification: destination can't be '/'");
  return clean;
}

/** A mount point before volumes exist: volume mounts name theirs (or none: anonymous). */
type Planned = Omit<MountPoint, 'Source'> & { Source: string; VolumeLabels?: Record<string, string> };

/**
 * Parses one `-v` string as Docker's Linux parser does: `/dst` (anonymous volume), `SRC:/dst`,
 * `SRC:/dst:MODE`; SRC absolute is a bind, else a volume name. InvalidArgumentError with Docker's
 * text (`invalid volume specification: 'x'`, `invalid mode: x`).
 */
export function parseBind(raw: string): Planned {
  const invalid = (why?: string) =>
    new InvalidArgumentError(`invalid volume specification: '${raw}'${why ? `: ${why}` : ''}`, { code: 'INVALID_MOUNT' });
  const parts = raw.split(':');
  let source = '';
  let target: string;
  let mode = '';
  if (parts.length === 1) target = parts[0]!;
  else if (parts.length === 2) {
    if (parseMode(parts[1]!) !== undefined) throw invalid();
    [source, target] = parts as [string, string];
  } else if (parts.length === 3) {
    [source, target, mode] = parts as [string, string, string];
    if (parseMode(mode) === undefined) throw new InvalidArgumentError(`invalid mode: ${mode}`, { code: 'INVALID_MOUNT' });
  } else throw invalid();
  if (target === '' || (parts.length > 1 && source === '')) throw invalid();
  const parsed = mode ? parseMode(mode)! : { rw: true, nocopy: false, propagation: undefined };
  const type = posix.isAbsolute(source) ? 'bind' : 'volume';
  let destination: string;
  try {
    destination = checkDestination(type, target);
    if (type === 'bind') checkDestination(type, source);
  } catch (err) {
    throw invalid((err as Error).message);
  }
  if (type === 'bind') {
    return {
      Type: 'bind',
      Source: posix.normalize(source),
      Destination: destination,
      Mode: mode,
      RW: parsed.rw,
      Propagation: parsed.propagation ?? 'rprivate',
      CreateSource: true,
    };
  }
  return volumePoint(source, destination, { mode: source ? mode || 'z' : mode, rw: parsed.rw, copyData: !parsed.nocopy });
}

/** One `--mount` as a planned mount point (Docker's validateMountConfig). */
export function planMount(m: MountOption): Planned {
  const type = m.Type;
  if (type !== 'volume' && type !== 'bind' && type !== 'tmpfs') {
    throw new InvalidArgumentError(`invalid mount config: mount type unknown: "${type}": expected volume, bind or tmpfs`, { code: 'INVALID_MOUNT' });
  }
  if (!m.Target) throw invalidMountConfig(type, 'field Target must not be empty');
  const destination = checkDestination(type, m.Target);
  const source = m.Source ?? '';
  if (type !== 'bind' && m.BindOptions?.Propagation) throw invalidMountConfig(type, 'field BindOptions must not be specified');
  if (type !== 'volume' && m.VolumeOptions && (m.VolumeOptions.NoCopy || Object.keys(m.VolumeOptions.Labels ?? {}).length > 0)) {
    throw invalidMountConfig(type, 'field VolumeOptions must not be specified');
  }
  if (type !== 'tmpfs' && m.TmpfsOptions && (m.TmpfsOptions.SizeBytes || m.TmpfsOptions.Mode)) {
    throw invalidMountConfig(type, 'field TmpfsOptions must not be specified');
  }
  if (type === 'bind') {
    if (source === '') throw invalidMountConfig(type, 'field Source must not be empty');
    if (!posix.isAbsolute(source)) throw invalidMountConfig(type, `invalid mount path: '${source}' mount path must be absolute`);
    if (!existsSync(source)) throw invalidMountConfig(type, `bind source path does not exist: ${source}`);
    const propagation = m.BindOptions?.Propagation || 'rprivate';
    if (!propagations.has(propagation)) throw invalidMountConfig(type, `invalid propagation mode: ${propagation}`);
    return { Type: 'bind', Source: posix.normalize(source), Destination: destination, Mode: '', RW: !m.ReadOnly, Propagation: propagation };
  }
  if (type === 'tmpfs') {
    if (source !== '') throw invalidMountConfig(type, 'field Source must not be specified');
    const options: string[] = [];
    if (m.TmpfsOptions?.SizeBytes) {
      if (m.TmpfsOptions.SizeBytes < 0) throw invalidMountConfig(type, `invalid tmpfs size: ${m.TmpfsOptions.SizeBytes}`);
      options.push(`size=${Math.ceil(m.TmpfsOptions.SizeBytes / 1024)}k`);
    }
    if (m.TmpfsOptions?.Mode) options.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
    return tmpfsPoint(destination, options, !m.ReadOnly);
  }
  return volumePoint(source, destination, { mode: 'z', rw: !m.ReadOnly, copyData: !m.VolumeOptions?.NoCopy, labels: m.VolumeOptions?.Labels });
}

/** A local volume mount point: the named volume `source`, or an anonymous one when it is empty. */
function volumePoint(source: string, destination: string, options: { mode: string; rw: boolean; copyData: boolean; labels?: Record<string, string> }): Planned {
  return {
    Type: 'volume',
    Name: source || undefined,
    Source: '',
    Destination: destination,
    Driver: 'local',
    Mode: options.mode,
    RW: options.rw,
    Propagation: '',
    CopyData: options.copyData,
    Anonymous: source === '',
    ...('labels' in options ? { VolumeLabels: options.labels } : {}),
  };
}

/** Docker's defaults for `--tmpfs` (noexec, nosuid, nodev) with the user's options over them. */
function tmpfsPoint(destination: string, userOptions: string[], rw: boolean): Planned {
  const flags = new Map<string, string>([
    ['exec', 'noexec'],
    ['suid', 'nosuid'],
    ['dev', 'nodev'],
  ]);
  const options: string[] = [];
  for (const option of userOptions) {
    if (option === 'ro' || option === 'rw') {
      rw = option === 'rw';
      continue;
    }
    const negated = [...flags.entries()].find(([on, off]) => option === on || option === off);
    if (negated) flags.set(negated[0], option);
    else options.push(option);
  }
  return {
    Type: 'tmpfs',
    Source: '',
    Destination: destination,
    Mode: '',
    RW: rw,
    Propagation: '',
    TmpfsOptions: [...flags.values(), ...options],
  };
}

/** `--volumes-from C[:ro|:rw]`: the other container's volumes and binds (not its tmpfs). */
function planVolumesFrom(spec: string, deps: ResolveMountsDeps): Planned[] {
  const colon = spec.lastIndexOf(':');
  let container = spec;
  let mode: string | undefined;
  if (colon > 0) {
    container = spec.slice(0, colon);
    mode = spec.slice(colon + 1);
    if (mode !== 'ro' && mode !== 'rw') throw new InvalidArgumentError(`invalid mode: ${mode}`, { code: 'INVALID_MOUNT' });
  }
  return deps
    .mountsOf(container)
    .filter((m) => m.Type !== 'tmpfs')
    .map((m) => ({
      ...m,
      RW: mode === undefined ? m.RW : mode === 'rw',
      Mode: mode ?? m.Mode,
      CopyData: false,
      Anonymous: false,
    }));
}

/**
 * The container's mount points from its create options (Docker's registerMountPoints): volumes-from
 * first, then `-v`, `--mount` and `--tmpfs` (over them; a destination twice among these is an
 * InvalidArgumentError `Duplicate mount point: /x`), then an anonymous volume for each image
 * VOLUME path not mounted otherwise. Everything is validated before any volume is created; volumes
 * named but missing, and anonymous ones, are then created. `created` lists them so that a failed
 * create can remove them again (see `removeVolumes`).
 */
export async function resolveMounts(request: MountRequest, deps: ResolveMountsDeps): Promise<{ points: MountPoint[]; created: string[] }> {
  const byDestination = new Map<string, Planned>();
  for (const spec of request.volumesFrom ?? []) {
    for (const point of planVolumesFrom(spec, deps)) byDestination.set(point.Destination, point);
  }
  const explicit = new Set<string>();
  const add = (point: Planned) => {
    if (explicit.has(point.Destination)) {
      throw new InvalidArgumentError(`Duplicate mount point: ${point.Destination}`, { code: 'DUPLICATE_MOUNT_POINT' });
    }
    explicit.add(point.Destination);
    byDestination.set(point.Destination, point);
  };
  for (const raw of request.binds ?? []) add(parseBind(raw));
  for (const m of request.mounts ?? []) add(planMount(m));
  for (const [path, options] of Object.entries(request.tmpfs ?? {})) {
    let destination: string;
    try {
      destination = checkDestination('tmpfs', path);
    } catch (err) {
      throw new InvalidArgumentError(`invalid tmpfs specification: '${path}': ${(err as Error).message}`, { code: 'INVALID_MOUNT' });
    }
    add(tmpfsPoint(destination, options ? options.split(',').filter(Boolean) : [], true));
  }
  for (const path of Object.keys(request.imageVolumes ?? {})) {
    const destination = posix.normalize(path).replace(/(.)\/$/, '$1');
    if (!posix.isAbsolute(destination) || destination === '/' || byDestination.has(destination)) continue;
    byDestination.set(destination, {
      Type: 'volume',
      Source: '',
      Destination: destination,
      Driver: 'local',
      Mode: '',
      RW: true,
      Propagation: '',
      CopyData: true,
      Anonymous: true,
    });
  }
  const planned = [...byDestination.values()];
  const needsVolumes = planned.some((p) => p.Type === 'volume' && (p.Name === undefined || p.Source === ''));
  if (needsVolumes && deps.volumes === undefined) {
    throw new InvalidArgumentError('Cannot use volumes: this container manager has no volume store', { code: 'NO_VOLUMES' });
  }
  const created: string[] = [];
  const points: MountPoint[] = [];
  try {
    for (const p of planned) {
      const { VolumeLabels, ...point } = p;
      if (point.Type === 'volume' && point.Source === '') {
        let volume = point.Name === undefined ? undefined : deps.volumes!.get(point.Name);
        if (volume === undefined) {
          volume = await deps.volumes!.create(point.Name, { labels: VolumeLabels, anonymous: point.Anonymous });
          created.push(volume.Name);
        }
        point.Name = volume.Name;
        point.Source = volume.Mountpoint;
        point.Driver = volume.Driver;
      }
      points.push(point);
    }
  } catch (err) {
    if (deps.volumes) await removeVolumes(deps.volumes, created);
    throw err;
  }
  return { points, created };
}

/** Removes volumes, skipping those in use elsewhere or already gone (rm -v, failed creates). */
export async function removeVolumes(volumes: VolumeSource, names: string[]): Promise<void> {
  for (const name of names) {
    try {
      await volumes.remove(name);
    } catch (err) {
      if (!(err instanceof ConflictError) && !(err instanceof NotFoundError)) throw err;
    }
  }
}

/** The anonymous volumes made for a container (what `rm -v` removes). */
export function anonymousVolumeNames(points: MountPoint[] | undefined): string[] {
  return (points ?? []).filter((p) => p.Type === 'volume' && p.Anonymous && p.Name).map((p) => p.Name!);
}

/** Whether a container's mount points use a volume. */
export function usesVolume(points: MountPoint[] | undefined, name: string): boolean {
  return (points ?? []).some((p) => p.Type === 'volume' && p.Name === name);
}

/**
 * Readies the mount points for a start and returns them as OCI mounts, parents before children.
 * `rootfs` must be mounted: a volume with `CopyData` that is empty is first filled with a copy of
 * the image's content at its destination (owners, modes, links kept; the volume directory takes
 * the owner and mode of the image's directory), and `CopyData` is cleared on the point (the caller
 * persists it), so that happens once. Bind sources of `-v` are made when missing; host files are
 * never chowned.
 */
export async function prepareMounts(points: MountPoint[], rootfs: string, volumes: VolumeSource | undefined): Promise<OciMount[]> {
  const mounts: OciMount[] = [];
  for (const point of points) {
    if (point.Type === 'tmpfs') {
      mounts.push({
        destination: point.Destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: [...(point.TmpfsOptions ?? []), point.RW ? 'rw' : 'ro'],
      });
      continue;
    }
    let source = point.Source;
    if (point.Type === 'volume') {
      if (volumes === undefined) throw new InvalidArgumentError('Cannot use volumes: this container manager has no volume store');
      source = await volumes.acquire(point.Name!);
      if (point.CopyData) {
        await copyUp(rootfs, point.Destination, source);
        point.CopyData = false;
      }
    } else if (!existsSync(source)) {
      if (!point.CreateSource) throw invalidMountConfig('bind', `bind source path does not exist: ${source}`);
      await mkdir(source, { recursive: true, mode: 0o755 });
    }
    const options = ['rbind', point.Propagation || 'rprivate'];
    if (!point.RW) options.push('ro');
    mounts.push({ destination: point.Destination, type: 'bind', source, options });
  }
  return sortMounts(mounts);
}

/** Docker's sortMounts: fewer path components first, so a parent is mounted before its children. */
export function sortMounts(mounts: OciMount[]): OciMount[] {
  const depth = (m: OciMount) => posix.normalize(m.destination).split('/').filter(Boolean).length;
  return mounts
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i)
    .map(({ m }) => m);
}

/** Docker's copyExistingContents + copyOwnership, for an empty volume only. */
async function copyUp(rootfs: string, destination: string, volumeDir: string): Promise<void> {
  if ((await readdir(volumeDir)).length > 0) return;
  const source = await securePath(rootfs, destination);
  const st = await stat(source).catch(() => undefined); // no such file: undefined
  if (st === undefined || !st.isDirectory()) return;
  if ((await readdir(source)).length > 0) {
    const res = await runCommand('cp', ['-a', '--', `${source}/.`, `${volumeDir}/`]).catch((err: Error) => ({ code: -1, stderr: err.message }));
    if (res.code !== 0) {
      throw new InternalError(`Cannot copy the image's "${destination}" into its volume: ${res.stderr.toString().trim() || `cp exited with ${res.code}`}`);
    }
  }
  await chown(volumeDir, st.uid, st.gid);
  await chmod(volumeDir, st.mode & 0o7777);
}

/** Docker's inspect `Mounts` entries. */
export function inspectMounts(points: MountPoint[] | undefined): Array<Record<string, unknown>> {
  return (points ?? []).map((p) =>
    p.Type === 'volume'
      ? { Type: 'volume', Name: p.Name, Source: p.Source, Destination: p.Destination, Driver: p.Driver ?? 'local', Mode: p.Mode, RW: p.RW, Propagation: p.Propagation }
      : { Type: p.Type, Source: p.Source, Destination: p.Destination, Mode: p.Mode, RW: p.RW, Propagation: p.Propagation },
  );
}

/**
 * The container's mounts plus the files the manager binds (/etc/hostname, /etc/hosts,
 * /etc/resolv.conf), parents first; a system file the user mounts something on is left out, as
 * Docker does.
 */
export function withSystemMounts(user: OciMount[], system: OciMount[]): OciMount[] {
  const taken = new Set(user.map((m) => posix.normalize(m.destination)));
  return sortMounts([...user, ...system.filter((m) => !taken.has(posix.normalize(m.destination)))]);
}
