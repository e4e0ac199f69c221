import { mkdir } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { ConflictError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { deviceNodes, resolveGroups, type NamespaceMode, type SpecOptions } from '@berth/runtime';
import { mountAll, unmount } from '@berth/snapshots';
import { isMountpoint } from './mountinfo.js';
import type { ContainerRecord, CreateOptions, DeviceMapping, HostConfig } from './types.js';

/**
 * The namespace and kernel options of a container, Docker's HostConfig fields `IpcMode`, `PidMode`,
 * `UTSMode`, `CgroupnsMode`, `ShmSize`, `Sysctls`, `GroupAdd` and `Devices`: their checks at
 * create (with Docker's messages), what the record keeps, and what each start asks of the runtime.
 *
 * A `container:NAME` mode joins the namespace of NAME's running process (`/proc/<pid>/ns/…`); an
 * IPC donor must be `shareable` (or `host`) and its /dev/shm is shared too, as Docker does: a
 * shareable container's /dev/shm is a tmpfs mounted on the host at `<bundle>/shm` while it runs
 * (a mount of another mount namespace cannot be bound), which joiners bind as theirs.
 */

/** Where a shareable container's /dev/shm is mounted on the host (Docker's `containers/<id>/mounts/shm`). */
function shmDir(rec: ContainerRecord): string {
  return join(rec.BundleDir, 'shm');
}

async function mountShm(rec: ContainerRecord): Promise<string> {
  const dir = shmDir(rec);
  if (await isMountpoint(dir)) return dir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const size = rec.HostConfig.ShmSize || 64 * 1024 * 1024;
  await mountAll([{ type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', `size=${Math.floor(size / 1024)}k`] }], dir);
  return dir;
}

/** Undoes what a start mounted on the host for these options (a shareable /dev/shm). Idempotent. */
export async function releaseHostOptions(rec: ContainerRecord): Promise<void> {
  const dir = shmDir(rec);
  if (await isMountpoint(dir)) await unmount(dir);
}

/** Finds another container by id, name or id prefix; undefined when there is none. */
export type ContainerLookup = (idOrName: string) => ContainerRecord | undefined;

const ipcModes = new Set(['', 'private', 'shareable', 'host', 'none']);

/** Docker's sysctl list (opts.ValidateSysctl): IPC parameters and the net. / fs.mqueue. trees. */
const namespacedSysctls = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** Whether a sysctl is one a container may set (it lives in the container's own namespaces). */
export function isNamespacedSysctl(key: string): boolean {
  return namespacedSysctls.has(key) || key.startsWith('net.') || key.startsWith('fs.mqueue.');
}

function containerOf(mode: string): string | undefined {
  return mode.startsWith('container:') ? mode.slice('container:'.length) : undefined;
}

/**
 * Checks the create options Docker's daemon checks (`verifyPlatformContainerSettings`): modes,
 * that a `container:NAME` exists, sysctls, devices (they must exist on the host), a hostname with
 * `--uts host`. InvalidArgumentError with Docker's messages; nothing is changed.
 */
export function checkHostOptions(options: CreateOptions, lookup: ContainerLookup): void {
  const ipc = options.ipcMode ?? '';
  const ipcTarget = containerOf(ipc);
  if (!ipcModes.has(ipc) && !ipcTarget) throw new InvalidArgumentError(`invalid IPC mode: ${ipc}`);
  const pid = options.pidMode ?? '';
  const pidTarget = containerOf(pid);
  if (pid !== '' && pid !== 'host' && !pidTarget) throw new InvalidArgumentError(`invalid PID mode: ${pid}`);
  for (const [mode, target] of [
    [ipc, ipcTarget],
    [pid, pidTarget],
  ] as const) {
    if (target === undefined) continue;
    if (target === '') throw new InvalidArgumentError(`invalid ${mode === ipc ? 'IPC' : 'PID'} mode: ${mode}`);
    if (!lookup(target)) throw new InvalidArgumentError(`No such container: ${target}`);
  }
  const uts = options.utsMode ?? '';
  if (uts !== '' && uts !== 'host') throw new InvalidArgumentError(`invalid UTS mode: ${uts}`);
  if (uts === 'host' && options.hostname) throw new InvalidArgumentError('conflicting options: hostname and the UTS mode');
  const cgroupns = options.cgroupnsMode ?? '';
  if (!['', 'host', 'private'].includes(cgroupns)) throw new InvalidArgumentError(`invalid cgroup namespace mode: ${cgroupns}`);
  for (const key of Object.keys(options.sysctls ?? {})) {
    if (!isNamespacedSysctl(key)) throw new InvalidArgumentError(`sysctl '${key}' is not allowed: only namespaced kernel parameters can be set`);
  }
  if ((options.shmSize ?? 0) < 0) throw new InvalidArgumentError('SHM size can not be less than 0');
  for (const d of options.resources?.devices ?? []) checkDevice(d);
}

function checkDevice(d: DeviceMapping): void {
  if (!d.PathInContainer.startsWith('/')) throw new InvalidArgumentError(`${d.PathInContainer} is not an absolute path`);
  if (!/^[rwm]{1,3}$/.test(d.CgroupPermissions) || new Set(d.CgroupPermissions).size !== d.CgroupPermissions.length) {
    throw new InvalidArgumentError(`bad mode specified: ${d.CgroupPermissions}`);
  }
  deviceNodes(d.PathOnHost, d.PathInContainer);
}

/** The HostConfig fields of these options, as Docker's inspect shows them (its defaults filled in). */
export function hostOptionsConfig(options: CreateOptions): Pick<
  HostConfig,
  'ShmSize' | 'Sysctls' | 'IpcMode' | 'PidMode' | 'UTSMode' | 'CgroupnsMode' | 'GroupAdd' | 'ContainerIDFile' | 'ConsoleSize'
> {
  return {
    ShmSize: options.shmSize || 64 * 1024 * 1024,
    ...(options.sysctls && Object.keys(options.sysctls).length > 0 ? { Sysctls: options.sysctls } : {}),
    IpcMode: options.ipcMode || 'private',
    PidMode: options.pidMode ?? '',
    UTSMode: options.utsMode ?? '',
    // Docker's default on cgroup v1 hosts (as these are) is the host's cgroup namespace.
    CgroupnsMode: options.cgroupnsMode || 'host',
    GroupAdd: options.groupAdd?.length ? options.groupAdd : null,
    ContainerIDFile: options.containerIdFile ?? '',
    ConsoleSize: [options.consoleSize?.height ?? 0, options.consoleSize?.width ?? 0],
  };
}

/** The hostname `--uts host` gives (the host's), else the one asked for. */
export function hostnameFor(options: CreateOptions, fallback: string): string {
  return options.utsMode === 'host' ? hostHostname() : options.hostname || fallback;
}

/** A running container's process, for joining its namespaces at start. */
function donorPid(target: string, what: 'IPC' | 'PID', lookup: ContainerLookup): { pid: number; rec: ContainerRecord } {
  const rec = lookup(target);
  if (!rec) throw new NotFoundError(`failed to join ${what} namespace: No such container: ${target}`);
  if (!rec.State.Running || rec.State.Restarting || rec.State.Pid <= 0) {
    throw new ConflictError(`failed to join ${what} namespace: Container ${rec.Id} is not running`);
  }
  return { pid: rec.State.Pid, rec };
}

/**
 * The runtime options of a recorded HostConfig for one start: namespaces to create or join,
 * /dev/shm, sysctls, devices and the `--group-add` gids (names looked up in `rootfs`). Errors as
 * Docker's: `failed to join PID namespace: Container <id> is not running`, `… non-shareable IPC …`.
 */
export async function hostSpecOptions(
  rec: ContainerRecord,
  context: { rootfs: string; lookup: ContainerLookup },
): Promise<Pick<SpecOptions, 'ipc' | 'pid' | 'uts' | 'cgroupns' | 'shm' | 'shmSize' | 'sysctls' | 'devices' | 'groupAdd'>> {
  const h = rec.HostConfig;
  const out: Awaited<ReturnType<typeof hostSpecOptions>> = {};
  const ipc = h.IpcMode ?? '';
  const ipcTarget = containerOf(ipc);
  if (ipc === 'host') Object.assign(out, { ipc: 'host', shm: { bind: '/dev/shm' } });
  else if (ipc === 'none') out.shm = 'none';
  else if (ipc === 'shareable') out.shm = { bind: await mountShm(rec) };
  else if (ipcTarget !== undefined) {
    const donor = donorPid(ipcTarget, 'IPC', context.lookup);
    const donorMode = donor.rec.HostConfig.IpcMode ?? '';
    if (donorMode !== 'shareable' && donorMode !== 'host') {
      throw new InvalidArgumentError(
        `failed to join IPC namespace: container ${donor.rec.Id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`,
      );
    }
    out.ipc = donorMode === 'host' ? 'host' : ({ path: `/proc/${donor.pid}/ns/ipc` } satisfies NamespaceMode);
    out.shm = { bind: donorMode === 'host' ? '/dev/shm' : shmDir(donor.rec) };
  }
  const pid = h.PidMode ?? '';
  const pidTarget = containerOf(pid);
  if (pid === 'host') out.pid = 'host';
  else if (pidTarget !== undefined) out.pid = { path: `/proc/${donorPid(pidTarget, 'PID', context.lookup).pid}/ns/pid` };
  if (h.UTSMode === 'host') out.uts = 'host';
  if (h.CgroupnsMode === 'private') out.cgroupns = 'private';
  if (h.ShmSize) out.shmSize = h.ShmSize;
  if (h.Sysctls && Object.keys(h.Sysctls).length > 0) out.sysctls = h.Sysctls;
  if (h.Devices?.length) {
    out.devices = h.Devices.flatMap((d) => deviceNodes(d.PathOnHost, d.PathInContainer).map((node) => ({ ...node, access: d.CgroupPermissions })));
  }
  if (h.GroupAdd?.length) out.groupAdd = await resolveGroups(context.rootfs, h.GroupAdd);
  return out;
}
